import type { RedisClient } from './connection';
import { RagscopeKeys } from './keys';

const BUCKET_MS = 60_000;
const WINDOW_BUCKETS = 60;
/** How long a read of the rate is reused: the rate moves over minutes, a job arrives every millisecond. */
const CACHE_MS = 10_000;
/**
 * The count and its expiry in one atomic command. Not MULTI: on a connection BullMQ shares, ioredis
 * builds each MULTI's Pipeline by copying every Lua command BullMQ defined on it (about a hundred
 * properties), which made this write the costliest thing a worker did per job.
 */
const COUNT_SCRIPT = "redis.call('INCRBY', KEYS[1], ARGV[1]) return redis.call('PEXPIRE', KEYS[1], ARGV[2])";

/**
 * Jobs enqueued per hour, observed over a sliding hour of one-minute buckets in Redis, so every
 * producer (CLI runs, HTTP servers, scripts) contributes to and reads the same rate.
 *
 * Writes are coalesced: at most one is in flight, and counts recorded meanwhile go out together when
 * it returns. A count recorded while nothing is in flight is sent at once, before anything its caller
 * sends next on the same connection (an enqueue), so it is in Redis by then. A worker, which counts
 * the jobs no producer counted, spaces its writes instead (`minWriteIntervalMs`): one write a second
 * whatever the job rate. Sent once per Redis round-trip, the write was a socket write for every job
 * or two, about 8 µs of a no-op job's 200 (CPU profile of a worker draining 20,000 jobs), and the
 * rate it feeds is read over an hour and cached for 10 s.
 */
export class JobRateMeter {
  private cached?: { atMs: number; jobsPerHour: number };
  private readonly keys: RagscopeKeys;
  /** Counts waiting for the write in flight to return, per bucket, and the promise of their own write. */
  private pending = new Map<number, number>();
  private pendingWritten?: Promise<void>;
  private writing?: Promise<void>;

  /** When the last write began (the injected clock), for the spacing between writes. */
  private lastWriteAtMs = Number.NEGATIVE_INFINITY;
  /** Ends the wait before the next write early (flush). */
  private wake?: () => void;
  private flushing = 0;
  private readonly minWriteIntervalMs: number;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
    options: {
      /** Least time between the starts of two writes; 0 (the default) writes as soon as nothing is in flight. */
      minWriteIntervalMs?: number;
    } = {},
  ) {
    this.keys = new RagscopeKeys(keyPrefix);
    this.minWriteIntervalMs = options.minWriteIntervalMs ?? 0;
  }

  /** Resolves once this count is in Redis; rejects when the write that carried it failed. */
  recordEnqueue(count = 1): Promise<void> {
    const bucket = Math.floor(this.now() / BUCKET_MS);
    this.pending.set(bucket, (this.pending.get(bucket) ?? 0) + count);
    if (this.pendingWritten) return this.pendingWritten;
    if (!this.writing && this.spacingLeftMs() <= 0) return this.writePending();
    const inFlight = (this.writing ?? Promise.resolve()).catch(() => undefined);
    return (this.pendingWritten = inFlight.then(() => this.waitForSpacing()).then(() => this.writePending()));
  }

  /** Resolves when every count recorded so far has been written (or its write has failed), without waiting out the spacing. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.wake?.();
      await this.pendingWritten?.catch(() => undefined);
      await this.writing?.catch(() => undefined);
    } finally {
      this.flushing--;
    }
  }

  private spacingLeftMs(): number {
    return this.lastWriteAtMs + this.minWriteIntervalMs - this.now();
  }

  private waitForSpacing(): Promise<void> {
    const leftMs = this.spacingLeftMs();
    if (leftMs <= 0 || this.flushing > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      // Unref'd: a closing worker flushes, which wakes this; a pending count never holds a process open.
      const timer = setTimeout(done, leftMs);
      timer.unref();
      this.wake = done;
    });
  }

  private writePending(): Promise<void> {
    const counts = this.pending;
    this.pending = new Map();
    this.pendingWritten = undefined;
    this.lastWriteAtMs = this.now();
    const ttlMs = (WINDOW_BUCKETS + 1) * BUCKET_MS;
    const written = Promise.all(
      [...counts].map(([bucket, count]) => this.redis.eval(COUNT_SCRIPT, 1, this.keys.enqueuedBucket(bucket), count, ttlMs)),
    ).then(() => undefined);
    const settled = (): void => {
      if (this.writing === written) this.writing = undefined;
    };
    written.then(settled, settled);
    this.writing = written;
    return written;
  }

  freshJobsPerHour(): number | undefined {
    return this.cached && this.now() - this.cached.atMs < CACHE_MS ? this.cached.jobsPerHour : undefined;
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
