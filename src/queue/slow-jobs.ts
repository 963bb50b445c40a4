import { createHash } from 'node:crypto';
import type { RedisClient } from './connection';
import { RagscopeKeys } from './keys';

/** How long a slow run is remembered: long enough for retries (exponential backoff) and repeats. */
const REMEMBER_MS = 60 * 60_000;
/** How long "no job was slow lately" is believed before Redis is asked again. */
const EMPTY_CACHE_MS = 5_000;

/**
 * Remembers jobs that ran slow without a profile, so their next run (a retry, or the same request
 * enqueued again) is profiled automatically: the slow case is the one worth a profile.
 */
export class SlowJobRegistry {
  private knownEmptyUntilMs = 0;
  private readonly keys: RagscopeKeys;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new RagscopeKeys(keyPrefix);
  }

  /** Same queue and same request parameters = the same job, whoever enqueued it. */
  static fingerprint(queue: string, request: Record<string, unknown>): string {
    return createHash('sha256').update(queue).update(JSON.stringify(request)).digest('hex').slice(0, 24);
  }

  async markSlow(fingerprint: string, durationMs: number): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.slowJob(fingerprint), String(Math.round(durationMs)), 'PX', REMEMBER_MS)
      .set(this.keys.anySlowJob(), '1', 'PX', REMEMBER_MS)
      .exec();
    this.knownEmptyUntilMs = 0;
  }

  /**
   * Whether this request ran slow lately. Usually nothing did, and then this answers from memory:
   * one Redis read every few seconds instead of one per job on the hot path.
   */
  /** `fingerprint` may be a function, so the hash is computed only when Redis must be asked. */
  wasSlow(fingerprint: string | (() => string)): boolean | Promise<boolean> {
    // Synchronous when answered from memory: the job pays no promise for it.
    if (this.now() < this.knownEmptyUntilMs) return false;
    return this.askRedis(fingerprint);
  }

  private async askRedis(fingerprint: string | (() => string)): Promise<boolean> {
    const key = this.keys.slowJob(typeof fingerprint === 'function' ? fingerprint() : fingerprint);
    const [anySlow, thisSlow] = await this.redis.mget(this.keys.anySlowJob(), key);
    if (!anySlow) this.knownEmptyUntilMs = this.now() + EMPTY_CACHE_MS;
    return Boolean(thisSlow);
  }

  async forget(fingerprint: string): Promise<void> {
    await this.redis.del(this.keys.slowJob(fingerprint));
  }
}
