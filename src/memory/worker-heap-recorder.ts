import { hostname } from 'node:os';
import type { RedisClient } from '../queue/connection';
import type { Logger } from 'pino';
import { PostGcHeapReader } from './post-gc-heap';
import type { HeapSeriesStore } from './heap-series-store';

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * The worker's side of heap monitoring: it keeps itself marked live with a heartbeat, and records
 * a sample into its own series whenever the scheduler publishes a tick. Sampling happens here, in
 * the process whose heap it is; the scheduler only asks and judges.
 */
export class WorkerHeapRecorder {
  private readonly sampler: PostGcHeapReader;
  private heartbeatTimer?: NodeJS.Timeout;
  /** The heartbeat in flight: during an outage beats queue up in the connection, so one at a time. */
  private beating?: Promise<void>;
  private readonly beatAfterReconnect = (): void => this.beat();

  constructor(
    private readonly store: HeapSeriesStore,
    private readonly subscriber: RedisClient,
    readonly workerId: string,
    private readonly logger: Logger,
    options: { forceGc: boolean },
  ) {
    this.sampler = new PostGcHeapReader({ forceGc: options.forceGc });
  }

  async start(): Promise<void> {
    await this.store.heartbeat(this.workerId);
    // Every RAGSCOPE_WORKER_HEARTBEAT_SECONDS, and at once whenever the connection is ready again:
    // a Redis that restarted empty (or a failover to a replica that missed the key) lists the
    // worker again within a round trip instead of after the next beat.
    this.heartbeatTimer = setInterval(() => this.beat(), this.store.heartbeatMs);
    this.heartbeatTimer.unref();
    this.store.redis.on('ready', this.beatAfterReconnect);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.store.tickChannel()) return;
      this.onTick(message).catch((error: Error) => this.logger.warn({ err: error.message }, 'heap sample failed'));
    });
    await this.subscriber.subscribe(this.store.tickChannel());
  }

  private beat(): void {
    this.beating ??= this.store
      .heartbeat(this.workerId)
      .catch((error: Error) => this.logger.warn({ err: error.message }, 'worker heartbeat failed'))
      .finally(() => (this.beating = undefined));
  }

  private async onTick(message: string): Promise<void> {
    const { tick } = JSON.parse(message) as { tick: string };
    const reading = this.sampler.read();
    await this.store.record(this.workerId, { ...reading, tick });
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    this.store.redis.off('ready', this.beatAfterReconnect);
    this.sampler.close();
    await this.subscriber.unsubscribe().catch(() => undefined);
    await this.store.forgetWorker(this.workerId).catch(() => undefined);
  }
}
