import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RagscopeConfig } from '../src/config/config';
import { assertRedisReachable, createRedisConnection, warnUnlessNoEviction } from '../src/queue/connection';
import { QUEUES, type QueueName } from '../src/contracts/queues';
import { HeapSeriesStore } from '../src/memory/heap-series-store';
import { defaultWorkerId, WorkerHeapRecorder } from '../src/memory/worker-heap-recorder';
import { openDocumentStore } from '../src/pipeline/store/open-store';
import type { DocumentStore } from '../src/pipeline/store/document-store';
import { createRagQueryProcessor } from './rag-query';
import { createLeakCheckProcessor } from './leak-check';
import { ExclusiveGate } from '../src/telemetry/profiling/exclusive-gate';
import { JobProfiler } from '../src/telemetry/profiling/job-profiler';
import { ProfilingOverheadWindow } from '../src/telemetry/profiling/profiling-policy';
import { SlowJobRegistry } from '../src/queue/slow-jobs';
import { JobRateMeter } from '../src/queue/job-rate';
import { TraceSampler } from '../src/telemetry/sampling/trace-sampler';
import { processMetrics, serveMetrics, type RagscopeMetrics } from '../src/telemetry/metrics';

function recordFinishedJob(metrics: RagscopeMetrics, queue: string, status: 'completed' | 'failed', job: Job | undefined): void {
  metrics.jobsTotal.inc({ queue, status });
  if (job?.processedOn && job.finishedOn) metrics.jobDurationSeconds.observe({ queue }, (job.finishedOn - job.processedOn) / 1000);
  if (status === 'completed' && queue === QUEUES.ragQuery) {
    for (const stage of (job?.returnvalue as { stages?: Array<{ name: string; durationMs: number }> } | undefined)?.stages ?? []) {
      metrics.stageDurationSeconds.observe({ stage: stage.name }, stage.durationMs / 1000);
    }
  }
}

export interface RunningWorkers {
  store: DocumentStore;
  /** Key of this process's heap series. */
  workerId: string;
  workers: Worker[];
  /** Stops taking jobs, lets active ones finish, then closes every connection. */
  close(): Promise<void>;
}

export interface StartWorkersOptions {
  concurrency?: number;
  /** Queues to consume (default: rag-query and leak-check), for dedicated worker pools. */
  queues?: QueueName[];
  /** Where job, stage and finding metrics go (default: the process's own set). */
  metrics?: RagscopeMetrics;
}

/**
 * Entry point of a worker process: the document store, then one BullMQ Worker per queue. Workers
 * are stateless; scale by running more of these processes against the same Redis.
 */
export async function startWorkers(
  config: RagscopeConfig,
  logger: Logger,
  options: StartWorkersOptions = {},
): Promise<RunningWorkers> {
  await assertRedisReachable(config.redisUrl);
  const metrics = options.metrics ?? processMetrics();
  const store = await openDocumentStore(config);
  const connection: Redis = createRedisConnection(config.redisUrl, 'worker');
  connection.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  await warnUnlessNoEviction(connection, logger);

  const profiler = await JobProfiler.create({ outputDir: config.profiling.outputDir, top: config.profiling.top }).catch(
    (error: Error) => {
      logger.warn({ err: error.message }, 'per-job CPU profiling unavailable; jobs run unprofiled');
      return undefined;
    },
  );
  // One gate for every queue of this process: a profiled job or a leak check runs alone in it.
  const gate = new ExclusiveGate();
  // A killed worker stops renewing its locks; another worker takes the job back after lockMs.
  const stallOptions = { lockDuration: config.lockMs, stalledInterval: config.stalledIntervalMs, maxStalledCount: config.maxStalledCount };
  const processors = {
    [QUEUES.ragQuery]: () =>
      new Worker(
        QUEUES.ragQuery,
        createRagQueryProcessor({
          store,
          plantBottleneck: config.plantBottleneck,
          redactUserIds: config.redactUserIds,
          logQueries: config.logQueries,
          logger,
          profiling: config.profiling,
          profiler,
          overhead: new ProfilingOverheadWindow(),
          gate,
          slowJobs: new SlowJobRegistry(connection, config.queuePrefix),
          sampler: new TraceSampler(new JobRateMeter(connection, config.queuePrefix), config.sampling, Math.random, metrics),
          metrics,
        }),
        { connection, prefix: config.queuePrefix, concurrency: options.concurrency ?? config.workerConcurrency, ...stallOptions },
      ),
    [QUEUES.leakCheck]: () =>
      new Worker(
        QUEUES.leakCheck,
        createLeakCheckProcessor({
          store,
          plantBottleneck: false,
          logger,
          gate,
          memoryProfilingEnabled: config.profiling.memoryEnabled,
          sourceMapper: profiler?.sourceMapper,
        }),
        // One at a time: two leak checks in one heap would measure each other.
        { connection, prefix: config.queuePrefix, concurrency: 1, ...stallOptions },
      ),
  };
  const consumed = options.queues ?? [QUEUES.ragQuery, QUEUES.leakCheck];
  const workers = consumed.map((queue) => processors[queue as keyof typeof processors]());
  for (const worker of workers) {
    worker.on('completed', (job) => recordFinishedJob(metrics, worker.name, 'completed', job));
    worker.on('failed', (job, error) => {
      recordFinishedJob(metrics, worker.name, 'failed', job);
      logger.warn({ jobId: job?.id, queue: worker.name, attempt: job?.attemptsMade, reason: error.message }, 'job failed');
    });
    worker.on('error', (error) => logger.error({ queue: worker.name, err: error.message }, 'worker error'));
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  const metricsServer = config.metricsPort ? await serveMetrics(config.metricsPort, '127.0.0.1', metrics.registry) : undefined;
  const subscriber = connection.duplicate();
  subscriber.on('error', (error) => logger.warn({ err: error.message }, 'redis subscriber error'));
  const heapRecorder = new WorkerHeapRecorder(
    HeapSeriesStore.fromConfig(connection, config),
    subscriber,
    config.memory.workerId ?? defaultWorkerId(),
    logger,
    { forceGc: config.memory.forceGc },
  );
  await heapRecorder.start();
  logger.info(
    {
      queues: workers.map((worker) => worker.name),
      prefix: config.queuePrefix,
      database: store.sql.description,
      workerId: heapRecorder.workerId,
      ...(config.metricsPort ? { metrics: `http://127.0.0.1:${config.metricsPort}/metrics` } : {}),
    },
    'worker ready',
  );

  let closing: Promise<void> | undefined;
  return {
    store,
    workerId: heapRecorder.workerId,
    workers,
    close: () =>
      (closing ??= (async () => {
        await Promise.all(workers.map((worker) => worker.close()));
        metricsServer?.close();
        await heapRecorder.stop();
        await subscriber.quit().catch(() => subscriber.disconnect());
        await connection.quit().catch(() => connection.disconnect());
        await store.sql.close();
      })()),
  };
}
