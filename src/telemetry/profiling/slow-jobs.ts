import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How long a slow run is remembered: long enough for retries (exponential backoff) and repeats. */
const REMEMBER_MS = 60 * 60_000;

/**
 * Remembers jobs that ran slow without a profile, so their next run (a retry, or the same request
 * enqueued again) is profiled automatically: the slow case is the one worth a profile.
 */
export class SlowJobRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  /** Same queue and same request parameters = the same job, whoever enqueued it. */
  static fingerprint(queue: string, request: Record<string, unknown>): string {
    return createHash('sha256').update(queue).update(JSON.stringify(request)).digest('hex').slice(0, 24);
  }

  async markSlow(fingerprint: string, durationMs: number): Promise<void> {
    await this.redis.set(this.key(fingerprint), String(Math.round(durationMs)), 'PX', REMEMBER_MS);
  }

  async wasSlow(fingerprint: string): Promise<boolean> {
    return (await this.redis.exists(this.key(fingerprint))) === 1;
  }

  async forget(fingerprint: string): Promise<void> {
    await this.redis.del(this.key(fingerprint));
  }

  private key(fingerprint: string): string {
    return `${this.keyPrefix}:ragscope:slow:${fingerprint}`;
  }
}
