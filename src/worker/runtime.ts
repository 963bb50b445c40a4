import { Worker, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { RagscopeConfig } from '../config/config';
import { QUEUES, type QueueName } from '../contracts/queues';
import { HeapSeriesStore } from '../memory/heap-series-store';
import { defaultWorkerId, WorkerHeapRecorder } from '../memory/worker-heap-recorder';
import type { JobPipeline } from '../pipeline/job-pipeline';
import { assertRedisReachable, createRedisConnection, duplicateConnection, warnUnlessNoEviction } from '../queue/connection';
import { JobRateMeter } from '../queue/job-rate';
import { SlowJobRegistry } from '../queue/slow-jobs';
import { processMetrics, serveMetrics, type RagscopeMetrics } from '../telemetry/metrics';
import { ExclusiveGate } from '../telemetry/profiling/exclusive-gate';
import { JobProfiler } from '../telemetry/profiling/job-profiler';
import { processCpuSinceLastReading } from '../telemetry/profiling/process-cpu';
import { ProfilingOverheadWindow } from '../telemetry/profiling/profiling-policy';
import { TraceSampler } from '../telemetry/sampling/trace-sampler';
import { RecentPlans } from './plan-reuse';
import { createLeakCheckProcessor, createRagQueryProcessor } from './processors';

/** The job rate is read over an hour and cached for 10 s: a count may wait a second for its write. */
const JOB_RATE_WRITE_INTERVAL_MS = 1000;

export interface WorkerRuntimeOptions {
  /**
   * Opens the pipeline every rag-query job and leak-check iteration runs; called once Redis
   * answers, and the pipeline is closed with the runtime.
   */
  openPipeline: () => Promise<JobPipeline>;
  /** rag-query jobs processed at once (default RAGSCOPE_WORKER_CONCURRENCY). */
  concurrency?: number;
  /**
   * Queues to consume (default: rag-query and leak-check), for dedicated worker pools. An empty
   * list builds the processors without consuming anything (a benchmark drives them itself).
   */
  queues?: readonly QueueName[];
  /** Where job, stage and finding metrics go (default: the process's own set). */
  metrics?: RagscopeMetrics;
}

export interface WorkerRuntime {
  /** Key of this process's heap series. */
  workerId: string;
  pipeline: JobPipeline;
  /** One processor per queue, with everything it needs wired in. */
  processors: Record<typeof QUEUES.ragQuery | typeof QUEUES.leakCheck, Processor>;
  /** The BullMQ Workers consuming `options.queues`. */
  workers: Worker[];
  /** Stops taking jobs, lets active ones finish, then closes every connection and the pipeline. */
  close(): Promise<void>;
}

/**
 * Everything a worker process needs, built once: Redis connections, the per-job profiler, the
 * exclusive gate, the profiling overhead window, the slow-job registry, the trace sampler, the
 * heap recorder the scheduler talks to, one BullMQ Worker per queue and the job metrics. Workers
 * are stateless; scale by running more of these processes against the same Redis.
 */
export async function createWorkerRuntime(config: RagscopeConfig, logger: Logger, options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  await assertRedisReachable(config.redis);
  // What is open so far, closed in reverse order on shutdown, or when start-up fails half-way.
  const opened: Array<() => Promise<unknown> | unknown> = [];
  const closeOpened = async (): Promise<void> => {
    for (const close of opened.reverse().splice(0)) await close();
  };
  try {
    const pipeline = await options.openPipeline();
    opened.push(() => pipeline.close());
    const runtime = await wire(config, logger, options, pipeline, opened);
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      // ctx.signal first, so a long job can stop early while the workers wait for it.
      pipeline.abort?.();
      return closeOpened();
    };
    return { ...runtime, close: () => (closing ??= close()) };
  } catch (error) {
    await closeOpened().catch(() => undefined);
    throw error;
  }
}

async function wire(
  config: RagscopeConfig,
  logger: Logger,
  options: WorkerRuntimeOptions,
  pipeline: JobPipeline,
  opened: Array<() => Promise<unknown> | unknown>,
): Promise<Omit<WorkerRuntime, 'close'>> {
  const metrics = options.metrics ?? processMetrics();
  const connection = createRedisConnection(config.redis, 'worker');
  opened.push(() => connection.quit().catch(() => connection.disconnect()));
  connection.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  await warnUnlessNoEviction(connection, logger);

  const profiler = await JobProfiler.create({
    outputDir: config.profiling.outputDir,
    top: config.profiling.top,
    warn: (message) => logger.warn(message),
    sourceRoot: pipeline.sourceRoot,
    sourceMapDir: pipeline.sourceMapDir,
  }).catch((error: Error) => {
    logger.warn({ err: error.message }, 'per-job CPU profiling unavailable; jobs run unprofiled');
    return undefined;
  });
  // One gate for every queue of this process: a profiled job or a leak check runs alone in it.
  const gate = new ExclusiveGate();
  // One write a second at most, whatever the job rate (see JobRateMeter).
  const meter = new JobRateMeter(connection, config.queuePrefix, Date.now, { minWriteIntervalMs: JOB_RATE_WRITE_INTERVAL_MS });
  // Before the connection closes: counts of the last jobs may still be waiting for a write.
  opened.push(() => meter.flush());
  const sampler = new TraceSampler(meter, config.sampling, Math.random, metrics);
  const processors = {
    [QUEUES.ragQuery]: createRagQueryProcessor({
      pipeline,
      redactUserIds: config.redactUserIds,
      logQueries: config.logQueries,
      logger,
      profiling: config.profiling,
      profiler,
      overhead: new ProfilingOverheadWindow(),
      cpuSinceLastRecord: processCpuSinceLastReading(),
      gate,
      slowJobs: new SlowJobRegistry(connection, config.queuePrefix),
      metrics,
      recentPlans: new RecentPlans(config.profiling.planIntervalSeconds * 1000),
      sampleNewTrace: (job) => sampleCarrierlessJob(job, sampler, meter, logger),
    }),
    [QUEUES.leakCheck]: createLeakCheckProcessor({
      pipeline,
      logger,
      gate,
      memoryProfilingEnabled: config.profiling.memoryEnabled,
      sourceMapper: profiler?.sourceMapper,
      resolveFile: profiler?.resolveFile,
    }),
  };

  const subscriber = duplicateConnection(connection);
  opened.push(() => subscriber.quit().catch(() => subscriber.disconnect()));
  subscriber.on('error', (error) => logger.warn({ err: error.message }, 'redis subscriber error'));
  const heapRecorder = new WorkerHeapRecorder(
    HeapSeriesStore.fromConfig(connection, config),
    subscriber,
    config.memory.workerId ?? defaultWorkerId(),
    logger,
    { forceGc: config.memory.forceGc },
  );
  opened.push(() => heapRecorder.stop());
  await heapRecorder.start();
  if (config.metricsPort) {
    const metricsServer = await serveMetrics(config.metricsPort, config.metricsHost, metrics.registry);
    opened.push(() => metricsServer.close());
  }

  // A killed worker stops renewing its locks; another worker takes the job back after lockMs.
  const workerOptions = {
    connection,
    prefix: config.queuePrefix,
    lockDuration: config.lockMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
  };
  const concurrency: Record<keyof typeof processors, number> = {
    [QUEUES.ragQuery]: options.concurrency ?? config.workerConcurrency,
    // One at a time: two leak checks in one heap would measure each other.
    [QUEUES.leakCheck]: 1,
  };
  const consumed = (options.queues ?? [QUEUES.ragQuery, QUEUES.leakCheck]) as Array<keyof typeof processors>;
  const workers = consumed.map((queue) => new Worker(queue, processors[queue], { ...workerOptions, concurrency: concurrency[queue] }));
  // Closed first: stop taking jobs and let the active ones finish while everything they use is open.
  opened.push(() => Promise.all(workers.map((worker) => worker.close())));
  for (const worker of workers) {
    worker.on('completed', (job) => recordFinishedJob(metrics, worker.name, 'completed', job));
    worker.on('failed', (job, error) => {
      recordFinishedJob(metrics, worker.name, 'failed', job);
      logger.warn({ jobId: job?.id, queue: worker.name, attempt: job?.attemptsMade, reason: error.message }, 'job failed');
    });
    worker.on('error', (error) => logger.error({ queue: worker.name, err: error.message }, 'worker error'));
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  logger.info(
    {
      queues: workers.map((worker) => worker.name),
      prefix: config.queuePrefix,
      pipeline: pipeline.name,
      ...(pipeline.database ? { database: pipeline.database } : {}),
      workerId: heapRecorder.workerId,
      ...(config.metricsPort ? { metrics: `http://${config.metricsHost}:${config.metricsPort}/metrics` } : {}),
    },
    'worker ready',
  );
  return { workerId: heapRecorder.workerId, pipeline, processors, workers };
}

function recordFinishedJob(metrics: RagscopeMetrics, queue: string, status: 'completed' | 'failed', job: Job | undefined): void {
  metrics.jobsTotal.inc({ queue, status });
  if (job?.processedOn && job.finishedOn) metrics.jobDurationSeconds.observe({ queue }, (job.finishedOn - job.processedOn) / 1000);
  if (status === 'completed' && queue === QUEUES.ragQuery) {
    for (const stage of (job?.returnvalue as { stages?: Array<{ name: string; durationMs: number }> } | undefined)?.stages ?? []) {
      metrics.stageDurationSeconds.observe({ stage: stage.name }, stage.durationMs / 1000);
    }
  }
}

/**
 * A job without a trace carrier starts its trace here, so its sampling decision is made here, and
 * it is counted here in the shared job-rate meter: no producer did (a script, or ragscope's
 * producer with tracing off; ragscope's producer counts exactly the jobs it sends a carrier with).
 * Counted on the first attempt only; a failed count costs the job nothing, and the job does not
 * wait for it: the meter sends it with its next write, at most a second later, and at once when it
 * has not written for a second.
 */
function sampleCarrierlessJob(job: Job, sampler: TraceSampler, meter: JobRateMeter, logger: Logger): boolean | Promise<boolean> {
  if (job.attemptsMade === 0) meter.recordEnqueue().catch((error: Error) => logger.warn({ err: error.message }, 'job-rate meter not updated'));
  const decision = sampler.decide();
  return 'then' in decision ? decision.then((decided) => decided.sampled) : decision.sampled;
}
