import type { RedisClient } from '../queue/connection';
import type { RagscopeConfig } from '../config/config';
import { RagscopeKeys } from '../queue/keys';
import type { HeapReading } from './post-gc-heap';
import type { HeapTrendVerdict, LeakAlertState } from './trend';

export interface StoredHeapSample extends HeapReading {
  /** The scheduler tick that asked for it: one sample per tick per worker. */
  tick: string;
}

export interface StoredVerdict {
  workerId: string;
  verdict: HeapTrendVerdict;
  alert: LeakAlertState;
  evaluatedAtMs: number;
}

/** Heartbeats a worker may miss before it stops counting as live. */
const MISSED_HEARTBEATS = 3;
const DEFAULT_HEARTBEAT_SECONDS = 10;

/**
 * Every worker's heap series in Redis: a bounded list per worker id, a sorted set of when each
 * worker was last seen, a liveness key per worker that expires unless its heartbeat renews it, and
 * the latest verdict. Nothing lives in the scheduler's memory, so a scheduler restart (or a second
 * scheduler) continues the same series.
 */
export class HeapSeriesStore {
  private readonly keys: RagscopeKeys;

  constructor(
    /** The connection the store uses; its `ready` event tells a worker to beat again after a reconnect. */
    readonly redis: RedisClient,
    prefix: string,
    private readonly options: { maxSamples: number; sampleIntervalMs: number; heartbeatSeconds?: number },
  ) {
    this.keys = new RagscopeKeys(prefix);
  }

  /** The store as configured for this deployment: every process must agree on length and period. */
  static fromConfig(redis: RedisClient, config: Pick<RagscopeConfig, 'queuePrefix' | 'memory' | 'workerHeartbeatSeconds'>): HeapSeriesStore {
    return new HeapSeriesStore(redis, config.queuePrefix, {
      maxSamples: config.memory.seriesMaxSamples,
      sampleIntervalMs: config.memory.sampleIntervalMs,
      heartbeatSeconds: config.workerHeartbeatSeconds,
    });
  }

  /** Series and verdicts of a worker that stopped reporting are gone after this long. */
  get retentionMs(): number {
    return Math.max(this.options.sampleIntervalMs * (this.options.maxSamples + 2), 60_000);
  }

  /** How often a worker renews its liveness key (RAGSCOPE_WORKER_HEARTBEAT_SECONDS). */
  get heartbeatMs(): number {
    return (this.options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS) * 1000;
  }

  /** A worker counts as live until it has missed three heartbeats: the liveness key's TTL. */
  get livenessMs(): number {
    return this.heartbeatMs * MISSED_HEARTBEATS;
  }

  tickChannel(): string {
    return this.keys.heapTickChannel();
  }

  /** Marks the worker live for `livenessMs` (and known, for its series' retention). */
  async heartbeat(workerId: string, nowMs = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.workerAlive(workerId), String(nowMs), 'PX', this.livenessMs)
      .zadd(this.keys.heapWorkers(), nowMs, workerId)
      .exec();
  }

  async forgetWorker(workerId: string): Promise<void> {
    await this.redis.multi().del(this.keys.workerAlive(workerId)).zrem(this.keys.heapWorkers(), workerId).exec();
  }

  /**
   * Workers whose liveness key has not expired. Redis expires the key by its own clock, so a
   * worker's clock never matters, and a Redis that restarted empty counts a worker again at its
   * next heartbeat (sent at once when the worker reconnects).
   */
  async liveWorkers(nowMs = Date.now()): Promise<string[]> {
    await this.redis.zremrangebyscore(this.keys.heapWorkers(), '0', String(nowMs - this.retentionMs));
    const known = await this.knownWorkers();
    if (known.length === 0) return [];
    const alive = await this.redis.mget(...known.map((workerId) => this.keys.workerAlive(workerId)));
    return known.filter((_, index) => alive[index] !== null);
  }

  /** Workers with a series, live or not (a dead worker's series stays readable until it expires). */
  async knownWorkers(): Promise<string[]> {
    return this.redis.zrange(this.keys.heapWorkers(), '0', '-1');
  }

  /**
   * Appends `sample` unless this worker already recorded one for the same tick (a redelivered tick
   * message must not double a sample). Returns whether it was recorded.
   */
  async record(workerId: string, sample: StoredHeapSample): Promise<boolean> {
    const claimed = await this.redis.set(this.keys.heapTickClaim(sample.tick, workerId), '1', 'PX', this.retentionMs, 'NX');
    if (claimed !== 'OK') return false;
    const series = this.keys.heapSeries(workerId);
    await this.redis
      .multi()
      .rpush(series, JSON.stringify(sample))
      .ltrim(series, -this.options.maxSamples, -1)
      .pexpire(series, this.retentionMs)
      .zadd(this.keys.heapWorkers(), sample.timestampMs, workerId)
      .exec();
    return true;
  }

  async series(workerId: string): Promise<StoredHeapSample[]> {
    const raw = await this.redis.lrange(this.keys.heapSeries(workerId), 0, -1);
    return raw.map((entry) => JSON.parse(entry) as StoredHeapSample);
  }

  /** How many workers recorded a sample for `tick`. */
  async samplesForTick(tick: string, workerIds: string[]): Promise<number> {
    if (workerIds.length === 0) return 0;
    const flags = await this.redis.mget(...workerIds.map((workerId) => this.keys.heapTickClaim(tick, workerId)));
    return flags.filter(Boolean).length;
  }

  async saveVerdict(verdict: StoredVerdict): Promise<void> {
    await this.redis.set(this.keys.heapVerdict(verdict.workerId), JSON.stringify(verdict), 'PX', this.retentionMs);
  }

  async verdict(workerId: string): Promise<StoredVerdict | undefined> {
    const raw = await this.redis.get(this.keys.heapVerdict(workerId));
    return raw ? (JSON.parse(raw) as StoredVerdict) : undefined;
  }
}
