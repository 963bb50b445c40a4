import { Job } from 'bullmq';
import { loadConfig } from '../../src/config/config';
import { isUserError } from '../../src/contracts/errors';
import { QUEUES } from '../../src/contracts/queues';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
import { createRedisConnection } from '../../src/queue/connection';
import { RagscopeProducer } from '../../src/queue/producer';
import { startLocalIntake } from '../../src/telemetry/intake/intake-server';
import { uniquePrefix } from './env';
import { startLongRunning, startWorkerProcess, waitFor, type WorkerProcess } from './processes';
import { startSentinelGroup, type SentinelGroup } from './redis-topologies';

/**
 * The Sentinel failover experiment of issue 12, shared by the test and the measurement run: a
 * primary, a replica and three sentinels; two worker processes and the heap scheduler; one
 * long-lived producer enqueueing `jobs` rag-query jobs with ids of its own (so a retry after a
 * refused enqueue never adds a job twice). After `killAfter` acknowledged enqueues the primary is
 * SIGKILLed; a supervisor restarts it a few seconds later (it rejoins as a replica). Then every
 * acknowledged job is followed to the end, and each execution is counted from the exported spans.
 */
export interface FailoverOutcome {
  settings: 'defaults' | 'safe';
  jobs: number;
  acknowledged: number;
  /** Enqueue calls refused with a retryable error (then retried by the producer). */
  refusals: number;
  /** Every refusal was a ServiceUnavailableError, the retryable kind (nothing else escaped). */
  refusalsAllRetryable: boolean;
  /** Longest a refused enqueue call took, ms (how fast producers fail during the switch). */
  slowestRefusalMs: number;
  /** Acknowledged, but absent from the new primary. */
  lostMissing: string[];
  /** Acknowledged and present, but never completed within the deadline. */
  lostStuck: string[];
  /** Jobs whose processor ran more than once (rag.job spans with the same job id). */
  duplicated: string[];
  /** From the SIGKILL to the sentinels naming the replica, ms. */
  failoverMs: number;
  /** Heap samples recorded after the failover (the scheduler ticking through the new primary). */
  samplesAfterFailover: number;
  /** Worker processes that exited during the run (none should: nothing needs a restart). */
  workersExited: number;
  /** Wall time of the whole run, set-up excluded, ms. */
  runMs: number;
}

export async function runSentinelFailover(
  binaries: { server: string; cli: string },
  options: { safe: boolean; jobs?: number; killAfter?: number; log?: (line: string) => void },
): Promise<FailoverOutcome> {
  const jobs = options.jobs ?? 300;
  const killAfter = options.killAfter ?? Math.floor(jobs / 3);
  const log = options.log ?? (() => undefined);
  const intake = await startLocalIntake({ port: 0 });
  let group: SentinelGroup | undefined;
  const processes: WorkerProcess[] = [];
  let producer: RagscopeProducer | undefined;
  try {
    group = await startSentinelGroup(binaries, { safe: options.safe });
    const prefix = uniquePrefix('failover');
    const env: Record<string, string | undefined> = {
      REDIS_URL: undefined,
      REDIS_CLUSTER_NODES: undefined,
      REDIS_SENTINELS: group.sentinelList,
      REDIS_SENTINEL_NAME: group.name,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      DD_TRACE_AGENT_URL: intake.url,
      DD_TRACE_SAMPLE_RATE: '1',
      RAGSCOPE_WORKER_CONCURRENCY: '4',
      // A job whose completion the crash lost is found stalled within seconds, not BullMQ's 30.
      RAGSCOPE_LOCK_MS: '4000',
      RAGSCOPE_STALLED_INTERVAL_MS: '2000',
      RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS: '500',
      RAGSCOPE_ENQUEUE_WAIT_REPLICAS: options.safe ? '1' : '0',
      RAGSCOPE_LOG_LEVEL: 'warn',
    };
    const config = loadConfig(env);
    const starting = [
      startWorkerProcess({ ...env, RAGSCOPE_LOG_LEVEL: 'info', RAGSCOPE_WORKER_ID: 'failover-w1' }),
      startWorkerProcess({ ...env, RAGSCOPE_LOG_LEVEL: 'info', RAGSCOPE_WORKER_ID: 'failover-w2' }),
      startLongRunning(['scheduler'], { ...env, RAGSCOPE_LOG_LEVEL: 'info' }, '"heap scheduler ready"'),
    ];
    // Started side by side (start-up is most of the set-up time); one that fails still gets stopped.
    const started = await Promise.allSettled(starting);
    for (const result of started) if (result.status === 'fulfilled') processes.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    const workerExits = processes.map(() => false);
    processes.forEach((process, index) => process.child.on('exit', () => (workerExits[index] = true)));

    producer = new RagscopeProducer(config);
    const startedAt = Date.now();
    const acknowledged: string[] = [];
    let refusals = 0;
    let refusalsAllRetryable = true;
    let slowestRefusalMs = 0;
    let killedAt = 0;
    let failoverMs = 0;
    const failover = (async () => {
      await waitFor(() => (acknowledged.length >= killAfter ? true : undefined), 120_000, `${killAfter} acknowledged enqueues`);
      killedAt = Date.now();
      log(`SIGKILL primary :${group!.primary.port} after ${acknowledged.length} acknowledged enqueues`);
      group!.primary.kill();
      await waitFor(async () => ((await group!.currentPrimaryPort()) === group!.replica.port ? true : undefined), 60_000, 'Sentinel to promote the replica');
      failoverMs = Date.now() - killedAt;
      log(`sentinels promoted :${group!.replica.port} after ${failoverMs} ms`);
      // A supervisor brings the crashed server back; Sentinel makes it a replica of the new primary.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      group!.primary.restart();
    })();

    for (let index = 0; index < jobs; index += 1) {
      const jobId = `failover-${index}`;
      for (;;) {
        const callStartedAt = Date.now();
        try {
          await producer.enqueueQuery({ query: `Which Redis settings bound a failover's loss? (${index})`, userId: 'failover' }, { jobId });
          acknowledged.push(jobId);
          break;
        } catch (error) {
          refusals += 1;
          slowestRefusalMs = Math.max(slowestRefusalMs, Date.now() - callStartedAt);
          if (!isUserError(error) || error.name !== 'ServiceUnavailableError') {
            refusalsAllRetryable = false;
            log(`unexpected enqueue error: ${(error as Error).stack}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await failover;
    log(`all ${jobs} enqueues acknowledged after ${Date.now() - startedAt} ms (${refusals} refusals, slowest ${slowestRefusalMs} ms)`);

    // Follow every acknowledged job to its end on the new primary.
    const queue = await producer.queue(QUEUES.ragQuery);
    const states = new Map<string, string>();
    const deadline = Date.now() + 45_000;
    for (;;) {
      for (const jobId of acknowledged) {
        if (states.get(jobId) === 'completed') continue;
        const job = await Job.fromId(queue, jobId).catch(() => undefined);
        states.set(jobId, job ? await job.getState() : 'missing');
      }
      const open = acknowledged.filter((jobId) => states.get(jobId) !== 'completed' && states.get(jobId) !== 'missing');
      if (open.length === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const lostMissing = acknowledged.filter((jobId) => states.get(jobId) === 'missing');
    const lostStuck = acknowledged.filter((jobId) => !['completed', 'missing'].includes(states.get(jobId)!));

    const redis = createRedisConnection(config.redis, 'producer');
    let samplesAfterFailover = 0;
    try {
      const store = HeapSeriesStore.fromConfig(redis, config);
      for (const workerId of ['failover-w1', 'failover-w2']) {
        samplesAfterFailover += (await store.series(workerId)).filter((sample) => sample.timestampMs > killedAt + failoverMs).length;
      }
    } finally {
      redis.disconnect();
    }
    const runMs = Date.now() - startedAt;
    const workersExited = workerExits.filter(Boolean).length;

    // Stopping the workers flushes their spans; then count executions per job id.
    await Promise.all(processes.splice(0).map((process) => process.stop()));
    const executions = new Map<string, number>();
    for (const span of intake.store.allSpans()) {
      if (span.name !== 'rag.job') continue;
      const jobId = String(span.meta?.['job.id'] ?? '');
      if (jobId.startsWith('failover-')) executions.set(jobId, (executions.get(jobId) ?? 0) + 1);
    }
    const duplicated = [...executions].filter(([, count]) => count > 1).map(([jobId]) => jobId);
    return {
      settings: options.safe ? 'safe' : 'defaults',
      jobs,
      acknowledged: acknowledged.length,
      refusals,
      refusalsAllRetryable,
      slowestRefusalMs,
      lostMissing,
      lostStuck,
      duplicated,
      failoverMs,
      samplesAfterFailover,
      workersExited,
      runMs,
    };
  } finally {
    await Promise.all(processes.map((process) => process.stop()));
    await producer?.close().catch(() => undefined);
    group?.stop();
    await intake.close();
  }
}
