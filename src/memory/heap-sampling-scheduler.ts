import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RagscopeConfig } from '../config/config';
import { createRedisConnection, warnUnlessNoEviction, type RedisClient } from '../queue/connection';
import { QUEUES } from '../contracts/queues';
import { BYTES_PER_MB, processMetrics, type RagscopeMetrics } from '../telemetry/metrics';
import { postAlert } from './alert-webhook';
import { HeapSeriesStore, type StoredVerdict } from './heap-series-store';
import { evaluateHeapTrend, INITIAL_LEAK_ALERT_STATE, nextLeakAlertState } from './trend';

/** One id for every scheduler process: upserting it again changes nothing, so ticks never double. */
export const HEAP_SCHEDULER_ID = 'ragscope-heap-sampler';

/** Pause between attempts to re-arm the job scheduler after a reconnect. */
const REARM_RETRY_MS = 1000;

/**
 * The long-horizon leak watch: one BullMQ job scheduler ticks every interval; whichever scheduler
 * process takes a tick asks every live worker for a sample (Redis pub/sub), waits for them, then
 * judges every series that got a new sample and records the verdict.
 */
export class HeapSamplingScheduler {
  private constructor(
    private readonly config: RagscopeConfig,
    private readonly logger: Logger,
    private readonly connection: RedisClient,
    private readonly queue: Queue,
    private readonly worker: Worker,
    readonly store: HeapSeriesStore,
    private readonly metrics: Pick<RagscopeMetrics, 'heapGrowthBytesPerSecond' | 'leakSuspected'>,
    /** Stops re-arming after reconnects. */
    private readonly stopRearming: () => void,
  ) {}

  static async start(config: RagscopeConfig, logger: Logger, metrics: RagscopeMetrics = processMetrics()): Promise<HeapSamplingScheduler> {
    const connection = createRedisConnection(config.redis, 'worker');
    connection.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
    await warnUnlessNoEviction(connection, logger);
    const store = HeapSeriesStore.fromConfig(connection, config);
    const queue = new Queue(QUEUES.heapSample, { connection, prefix: config.queuePrefix });
    const arm = () =>
      queue.upsertJobScheduler(
        HEAP_SCHEDULER_ID,
        { every: config.memory.sampleIntervalMs },
        { name: 'heap-sample', data: {}, opts: { removeOnComplete: 200, removeOnFail: 200 } },
      );
    await arm();
    // The next tick is a delayed job BullMQ writes while running the current one. A failover can lose
    // that write (replication is asynchronous), which would stop the ticks for good; upserting again
    // after every reconnect recreates it (an existing one is kept, not doubled).
    // Right after a Sentinel failover the new primary may still refuse writes (NOREPLICAS while
    // min-replicas-to-write waits for a replica to attach), so one attempt is not enough: retry until
    // it succeeds, a reconnect starts a new round, or the scheduler closes.
    let closing = false;
    let rearmRound = 0;
    connection.on('ready', () => {
      const round = ++rearmRound;
      void (async () => {
        for (let attempt = 1; !closing && round === rearmRound; attempt++) {
          try {
            await arm();
            logger.info({ attempt }, 'heap scheduler re-armed after reconnecting to Redis');
            return;
          } catch (error) {
            if (attempt === 1) logger.warn({ err: (error as Error).message }, 'heap scheduler could not re-arm yet; retrying every second');
            await new Promise((resolve) => setTimeout(resolve, REARM_RETRY_MS).unref());
          }
        }
      })();
    });
    let scheduler: HeapSamplingScheduler | undefined;
    const worker = new Worker(
      QUEUES.heapSample,
      async (job) => scheduler!.tick(job.id ?? String(job.timestamp)),
      { connection, prefix: config.queuePrefix, concurrency: 1 },
    );
    worker.on('error', (error) => logger.error({ err: error.message }, 'heap scheduler worker error'));
    worker.on('failed', (job, error) => logger.warn({ tick: job?.id, err: error.message }, 'heap sampling tick failed'));
    scheduler = new HeapSamplingScheduler(config, logger, connection, queue, worker, store, metrics, () => (closing = true));
    await worker.waitUntilReady();
    logger.info({ intervalMs: config.memory.sampleIntervalMs, prefix: config.queuePrefix }, 'heap scheduler ready');
    return scheduler;
  }

  /** One tick: collect a sample from every live worker, then judge the fresh series. */
  async tick(tick: string): Promise<{ sampled: number; live: number }> {
    const live = await this.store.liveWorkers();
    await this.connection.publish(this.store.tickChannel(), JSON.stringify({ tick }));
    // Workers answer within milliseconds; the wait is bounded so a hung worker cannot stall a tick.
    const deadline = Date.now() + Math.min(this.config.memory.sampleIntervalMs / 2, 5000);
    let sampled = await this.store.samplesForTick(tick, live);
    while (sampled < live.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      sampled = await this.store.samplesForTick(tick, live);
    }
    for (const workerId of live) {
      if ((await this.store.samplesForTick(tick, [workerId])) === 1) await this.judge(workerId);
    }
    return { sampled, live: live.length };
  }

  private async judge(workerId: string): Promise<void> {
    const samples = await this.store.series(workerId);
    const trendOptions = { thresholdMbPerHour: this.config.memory.leakThresholdMbPerHour };
    const verdict = evaluateHeapTrend(samples, trendOptions);
    const previous = await this.store.verdict(workerId);
    const transition = nextLeakAlertState(previous?.alert ?? INITIAL_LEAK_ALERT_STATE, verdict, trendOptions);
    const stored: StoredVerdict = { workerId, verdict, alert: transition.state, evaluatedAtMs: Date.now() };
    await this.store.saveVerdict(stored);
    if (verdict.slopeMbPerHour !== null) this.metrics.heapGrowthBytesPerSecond.set({ worker: workerId }, (verdict.slopeMbPerHour * BYTES_PER_MB) / 3600);
    this.metrics.leakSuspected.set({ worker: workerId }, transition.state.raised ? 1 : 0);
    if (!transition.changed) return;
    const fields = { workerId, slopeMbPerHour: verdict.slopeMbPerHour, pValue: verdict.pValue, reason: verdict.reason };
    if (transition.state.raised) this.logger.warn(fields, 'leak suspected');
    else this.logger.info(fields, 'leak alert cleared');
    const alertUrl = this.config.memory.alertUrl;
    if (alertUrl) {
      void postAlert(alertUrl, { event: transition.state.raised ? 'leak-suspected' : 'leak-cleared', ...fields, at: new Date().toISOString() }, this.logger);
    }
  }

  async close(): Promise<void> {
    this.stopRearming();
    await this.worker.close();
    await this.queue.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
