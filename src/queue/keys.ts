/**
 * Every Redis key and pub/sub channel ragscope writes besides BullMQ's own, built in one place.
 * BullMQ keys are `<prefix>:<queue>:…`; ragscope's are `<prefix>:ragscope:…`. On a Redis Cluster the
 * prefix is a hash tag (`{bull}`), so all of them hash to that tag's slot and no multi-key command
 * (MGET over buckets or tick claims, MULTI) ever crosses slots.
 */
export class RagscopeKeys {
  constructor(readonly prefix: string) {}

  /** Jobs enqueued in one time bucket, summed by the job-rate meter. */
  enqueuedBucket(bucket: number): string {
    return this.key(`enqueued:${bucket}`);
  }

  /** A recently slow job, by fingerprint of the inputs that made it slow. */
  slowJob(fingerprint: string): string {
    return this.key(`slow:${fingerprint}`);
  }

  /** Set while any job is remembered as slow: lets workers skip the per-job lookup. */
  anySlowJob(): string {
    return this.key('slow-any');
  }

  /** Sorted set: worker id → when it was last seen (which workers have series, until retention ends). */
  heapWorkers(): string {
    return this.key('heap:workers');
  }

  /**
   * Set by a live worker with a TTL of a few heartbeats: Redis' own clock ends it when the worker
   * stops beating, so liveness needs no clock agreement between hosts.
   */
  workerAlive(workerId: string): string {
    return this.key(`worker:alive:${workerId}`);
  }

  /** Bounded list of one worker's heap samples. */
  heapSeries(workerId: string): string {
    return this.key(`heap:series:${workerId}`);
  }

  /** Claim of one scheduler tick by one worker: one sample per tick, however many schedulers. */
  heapTickClaim(tick: string, workerId: string): string {
    return this.key(`heap:tick:${tick}:${workerId}`);
  }

  /** Latest leak verdict of one worker. */
  heapVerdict(workerId: string): string {
    return this.key(`heap:verdict:${workerId}`);
  }

  /** Pub/sub channel on which the scheduler asks every live worker for a heap sample. */
  heapTickChannel(): string {
    return this.key('heap:tick');
  }

  private key(suffix: string): string {
    return `${this.prefix}:ragscope:${suffix}`;
  }
}
