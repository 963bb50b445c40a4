import { hostname } from 'node:os';
import type { RedisClient } from '../queue/connection';
import type { Logger } from 'pino';
import { PostGcHeapReader } from './post-gc-heap';
import type { HeapSeriesStore } from './heap-series-store';

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * The worker's side of heap monitoring: it announces itself, and records a sample into its own
 * series whenever the scheduler publishes a tick. Sampling happens here, in the process whose heap
 * it is; the scheduler only asks and judges.
 */
export class WorkerHeapRecorder {
  private readonly sampler: PostGcHeapReader;
  private heartbeatTimer?: NodeJS.Timeout;

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
    // A heartbeat between ticks keeps an idle worker listed as live; a third of the liveness window
    // leaves room for two missed beats.
    this.heartbeatTimer = setInterval(() => {
      this.store.heartbeat(this.workerId).catch((error: Error) => this.logger.warn({ err: error.message }, 'heap monitor heartbeat failed'));
    }, Math.max(this.store.livenessMs / 3, 1000));
    this.heartbeatTimer.unref();
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.store.tickChannel()) return;
      this.onTick(message).catch((error: Error) => this.logger.warn({ err: error.message }, 'heap sample failed'));
    });
    await this.subscriber.subscribe(this.store.tickChannel());
  }

  private async onTick(message: string): Promise<void> {
    const { tick } = JSON.parse(message) as { tick: string };
    const reading = this.sampler.read();
    await this.store.record(this.workerId, { ...reading, tick });
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    this.sampler.close();
    await this.subscriber.unsubscribe().catch(() => undefined);
    await this.store.forgetWorker(this.workerId).catch(() => undefined);
  }
}
