import type { RedisClient } from './connection';
import { RagscopeKeys } from './keys';

const BUCKET_MS = 60_000;
const WINDOW_BUCKETS = 60;
/** How long a read of the rate is reused: the rate moves over minutes, a job arrives every millisecond. */
const CACHE_MS = 10_000;

/**
 * Jobs enqueued per hour, observed over a sliding hour of one-minute buckets in Redis, so every
 * producer (CLI runs, HTTP servers, scripts) contributes to and reads the same rate.
 */
export class JobRateMeter {
  private cached?: { atMs: number; jobsPerHour: number };
  private readonly keys: RagscopeKeys;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new RagscopeKeys(keyPrefix);
  }

  async recordEnqueue(count = 1): Promise<void> {
    const key = this.keys.enqueuedBucket(Math.floor(this.now() / BUCKET_MS));
    await this.redis.multi().incrby(key, count).pexpire(key, (WINDOW_BUCKETS + 1) * BUCKET_MS).exec();
  }

  async jobsPerHour(): Promise<number> {
    const nowMs = this.now();
    if (this.cached && nowMs - this.cached.atMs < CACHE_MS) return this.cached.jobsPerHour;
    const current = Math.floor(nowMs / BUCKET_MS);
    const keys = Array.from({ length: WINDOW_BUCKETS }, (_, offset) => this.keys.enqueuedBucket(current - offset));
    const counts = await this.redis.mget(...keys);
    const jobsPerHour = counts.reduce((sum, count) => sum + Number(count ?? 0), 0);
    this.cached = { atMs: nowMs, jobsPerHour };
    return jobsPerHour;
  }
}
