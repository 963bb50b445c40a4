import { SpanKind } from '@opentelemetry/api';
import { Job, Queue, type JobState, type JobsOptions, type QueueEvents } from 'bullmq';
import type { RagscopeConfig } from '../config/config';
import { isUserError, QueueFullError, ServiceUnavailableError, UserError } from '../contracts/errors';
import { inSpan } from '../telemetry/spans';
import { userIdTag } from '../telemetry/span-tags';
import { activeTraceId, injectTraceCarrier } from '../telemetry/trace-context';
import { assertRedisReachable, closeRedis, createRedisConnection, isRedisReady, isRedisUnavailable, redisUnavailableError, type RedisClient } from './connection';
import { isPossibleJobId } from './job-ids';
import { JobRateMeter } from './job-rate';
import { openQueueEvents } from './queue-events';
import { TraceSampler } from '../telemetry/sampling/trace-sampler';
import { leakCheckDataSchema, leakCheckProgressSchema, leakCheckResultSchema, type LeakCheckInput, type LeakCheckProgress, type LeakCheckResult } from '../contracts/leak-check';
import { ragQueryDataSchema, ragQueryResultSchema, type RagQueryInput, type RagQueryResult } from '../contracts/rag-query';
import { parseContract } from '../contracts/validation';
import { JOB_NAMES, QUEUES, type QueueName } from '../contracts/queues';

export interface EnqueuedJob {
  jobId: string;
  queue: QueueName;
  /** Trace id of the producer's `rag.enqueue` span; undefined when tracing is off. */
  traceId?: string;
  /** Whether ragscope's sampler kept this trace (DD_TRACE_SAMPLE_RATE, adaptive at high volume). */
  sampled: boolean;
}

/** The job finished in failure; `reason` is the worker's error message. */
export class JobFailedError extends UserError {
  constructor(
    readonly jobId: string,
    readonly reason: string,
  ) {
    super(`job ${jobId} failed: ${reason}`);
  }
}

export class WaitTimeoutError extends UserError {
  constructor(jobId: string, timeoutMs: number) {
    super(`job ${jobId} did not finish within ${timeoutMs / 1000} s`, `it is still queued or running; check later`);
  }
}

type Finished = { returnvalue: unknown } | { failedReason: string };

/** Called once with how the job ended, or with why the wait ended without it. */
type Waiter = (finished: Finished | Error) => void;

export type ProducerConfig = Pick<RagscopeConfig, 'redis' | 'redisCommandTimeoutMs' | 'enqueueWaitReplicas' | 'enqueueWaitMs' | 'queuePrefix' | 'jobAttempts' | 'redactUserIds' | 'sampling' | 'maxWaiting'>;

/**
 * Seconds a refused producer should wait before trying again (the Retry-After of a 429). Short:
 * a queue at its cap has room again as soon as workers take a few jobs, and it only spaces retries.
 */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

/** How long a first connection may take to become ready after Redis answered PING. */
const CONNECT_TIMEOUT_MS = 3000;
/** How long closing one BullMQ object may take before the producer stops waiting for it. */
const CLOSE_TIMEOUT_MS = 2000;

/** Waits for `work` at most `ms`; what is left runs on unawaited. */
async function boundedWait(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Whether `client` emits `ready` within `ms`. */
function becomesReady(client: RedisClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * The producer API for scripts, the CLI and the HTTP server: validate against the job contract,
 * enqueue inside a `rag.enqueue` span whose context rides in `data.trace`, and optionally wait.
 */
export class RagscopeProducer {
  private readonly queues = new Map<QueueName, Queue>();
  /** Per queue, its events' connection and the QueueEvents being opened on it (see openQueueEvents). */
  private readonly queueEvents = new Map<QueueName, { events: Promise<QueueEvents>; connection: RedisClient }>();
  /** Callers waiting for a job to finish, by queue and job id. */
  private readonly waiters = new Map<QueueName, Map<string, Set<Waiter>>>();
  private connection?: RedisClient;
  private connecting?: Promise<RedisClient>;
  private sampling?: { meter: JobRateMeter; sampler: TraceSampler };
  /** The waiting-job count in flight per queue: concurrent enqueues share one (see assertRoom). */
  private readonly waitingCounts = new Map<QueueName, Promise<number>>();

  constructor(private readonly config: ProducerConfig) {}

  /**
   * Checks Redis once, before the first command: a dead server is a readable error (with how to
   * start one) within seconds. Input is validated before this, so a bad job fails the same way
   * whether or not Redis is up. Once connected, a connection that is down (Redis stopped,
   * restarting or failing over) fails the call at once instead of queueing it behind ioredis'
   * reconnects: callers (the HTTP API above all) answer "unavailable" within milliseconds, and the
   * connection keeps reconnecting by itself.
   */
  private async ensureConnected(): Promise<RedisClient> {
    if (this.connection) {
      this.assertAvailable();
      return this.connection;
    }
    this.connecting ??= this.connect();
    try {
      return await this.connecting;
    } catch (error) {
      this.connecting = undefined;
      throw error;
    }
  }

  private async connect(): Promise<RedisClient> {
    await assertRedisReachable(this.config.redis);
    const connection = createRedisConnection(this.config.redis, 'producer', { commandTimeoutMs: this.config.redisCommandTimeoutMs });
    // Errors reach callers through the failing command; the connection-level event would only repeat them.
    connection.on('error', () => undefined);
    if (!isRedisReady(connection) && !(await becomesReady(connection, CONNECT_TIMEOUT_MS))) {
      connection.disconnect();
      throw redisUnavailableError(this.config.redis, `no ready connection within ${CONNECT_TIMEOUT_MS} ms`);
    }
    const meter = new JobRateMeter(connection, this.config.queuePrefix);
    this.sampling = { meter, sampler: new TraceSampler(meter, this.config.sampling) };
    this.connection = connection;
    return connection;
  }

  /** Whether Redis can take a command now (false before the first connection and while it is down). */
  isAvailable(): boolean {
    return this.connection !== undefined && isRedisReady(this.connection);
  }

  /** Throws ServiceUnavailableError (service `redis`) while the connection is down. */
  assertAvailable(): void {
    if (this.connection && !isRedisReady(this.connection)) throw redisUnavailableError(this.config.redis, `connection ${this.connection.status}`);
  }

  /** The producer's own Redis connection, for readers that share it (the heap store of `serve`). */
  async redis(): Promise<RedisClient> {
    return this.ensureConnected();
  }

  async enqueueQuery(input: RagQueryInput, jobOptions: JobsOptions = {}): Promise<EnqueuedJob> {
    const data = parseContract(ragQueryDataSchema, input, `${QUEUES.ragQuery} job`);
    return this.enqueue(QUEUES.ragQuery, JOB_NAMES.query, data, jobOptions, {
      'user.id': userIdTag(data.userId, this.config.redactUserIds),
      'query.length': data.query.length,
      'query.top_k': data.topK,
    });
  }

  async enqueueLeakCheck(input: LeakCheckInput, jobOptions: JobsOptions = {}): Promise<EnqueuedJob> {
    const data = parseContract(leakCheckDataSchema, input, `${QUEUES.leakCheck} job`);
    return this.enqueue(QUEUES.leakCheck, JOB_NAMES.leakCheck, data, jobOptions, {
      'leak_check.iterations': data.iterations,
    });
  }

  /**
   * The job `jobId` of `queueName`, or undefined when there is none. Ids that cannot name a BullMQ
   * job (its own keys: `meta`, `events`, `7:logs`, …) are answered without reading them, and a hash
   * that is not a job (no timestamp) is no job either.
   */
  async findJob(queueName: QueueName, jobId: string): Promise<Job | undefined> {
    if (!isPossibleJobId(jobId)) return undefined;
    const queue = await this.queue(queueName);
    try {
      const job = await Job.fromId(queue, jobId);
      return job && Number.isFinite(job.timestamp) && job.timestamp > 0 ? job : undefined;
    } catch (error) {
      // A key of another type under a job's name: not a job.
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return undefined;
      throw error;
    }
  }

  /**
   * The job and its state, read so that they agree. The job is read before its state, so one that
   * finished in between was read without its outcome: a finished job is read again (BullMQ stores
   * the outcome and moves the job in one script). Read once each, `GET /jobs/:id` answered a leak
   * check that finished between the two reads as `completed` with a null result.
   */
  async findJobWithState(queueName: QueueName, jobId: string): Promise<{ job: Job; state: JobState | 'unknown' } | undefined> {
    const job = await this.findJob(queueName, jobId);
    if (!job) return undefined;
    const state = await job.getState();
    if (state !== 'completed' && state !== 'failed') return { job, state };
    return { job: (await this.findJob(queueName, jobId)) ?? job, state };
  }

  /**
   * Resolves with the job's result, or throws JobFailedError / WaitTimeoutError. Waits of one queue
   * share one listener pair on its QueueEvents (BullMQ's own waitUntilFinished adds listeners per
   * wait to the Queue, and warns past ten), so a thousand concurrent `?wait` requests cost a map entry each.
   */
  async waitForResult(queueName: QueueName, jobId: string, timeoutMs: number): Promise<unknown> {
    const waiters = this.waitersOf(queueName);
    // Subscribed before the state is read: a job finishing in between is not missed.
    await this.events(queueName);
    const outcome = new Promise<unknown>((resolve, reject) => {
      const waiter: Waiter = (finished) => {
        clearTimeout(timer);
        const forJob = waiters.get(jobId);
        forJob?.delete(waiter);
        if (forJob?.size === 0) waiters.delete(jobId);
        if (finished instanceof Error) reject(finished);
        else if ('failedReason' in finished) reject(new JobFailedError(jobId, finished.failedReason));
        else resolve(finished.returnvalue);
      };
      const timer = setTimeout(() => waiter(new WaitTimeoutError(jobId, timeoutMs)), timeoutMs);
      waiters.set(jobId, (waiters.get(jobId) ?? new Set()).add(waiter));
    });
    const finish = (finished: Finished | Error) => this.finishWaiters(queueName, jobId, finished);
    this.findJobWithState(queueName, jobId)
      .then((found) => {
        if (!found) return finish(new UserError(`no job ${jobId} in queue ${queueName}`));
        if (found.state === 'completed') finish({ returnvalue: found.job.returnvalue });
        else if (found.state === 'failed') finish({ failedReason: found.job.failedReason });
      })
      .catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
    return outcome;
  }

  async waitForQueryResult(jobId: string, timeoutMs: number): Promise<RagQueryResult> {
    const result = await this.waitForResult(QUEUES.ragQuery, jobId, timeoutMs);
    return ragQueryResultSchema.parse(result);
  }

  async waitForLeakCheckResult(
    jobId: string,
    timeoutMs: number,
    onProgress?: (progress: LeakCheckProgress) => void,
  ): Promise<LeakCheckResult> {
    const events = await this.events(QUEUES.leakCheck);
    const listener = ({ jobId: progressJobId, data }: { jobId: string; data: unknown }): void => {
      if (progressJobId !== jobId) return;
      const progress = leakCheckProgressSchema.safeParse(data);
      if (progress.success) onProgress?.(progress.data);
    };
    if (onProgress) events.on('progress', listener);
    try {
      return leakCheckResultSchema.parse(await this.waitForResult(QUEUES.leakCheck, jobId, timeoutMs));
    } finally {
      events.off('progress', listener);
    }
  }

  async close(): Promise<void> {
    for (const [queueName, waiters] of this.waiters) {
      for (const jobId of [...waiters.keys()]) this.finishWaiters(queueName, jobId, new UserError(`stopped waiting for job ${jobId}: the producer was closed`));
    }
    // BullMQ's close() of a QueueEvents waits for its connection to emit `end`, which a client that
    // lost Redis never does once disconnected (ioredis parks it in `reconnecting`): with Redis down,
    // the connection is dropped and BullMQ's close is left to finish on its own, never awaited.
    await Promise.all(
      [...this.queueEvents.values()].map(async ({ events, connection }) => {
        const closing = events.then((opened) => opened.close()).catch(() => undefined);
        if (isRedisReady(connection)) await boundedWait(closing, CLOSE_TIMEOUT_MS);
        await closeRedis(connection);
      }),
    );
    await Promise.all([...this.queues.values()].map((queue) => boundedWait(queue.close().catch(() => undefined), CLOSE_TIMEOUT_MS)));
    if (this.connection) await closeRedis(this.connection);
  }

  /** Ends every wait now (as if it timed out): a server shutting down answers its `?wait` requests at once. */
  stopWaiting(): void {
    for (const [queueName, waiters] of this.waiters) {
      for (const jobId of [...waiters.keys()]) this.finishWaiters(queueName, jobId, new WaitTimeoutError(jobId, 0));
    }
  }

  /** The BullMQ Queue behind `queueName`, for callers that need more than enqueue and wait. */
  async queue(queueName: QueueName): Promise<Queue> {
    const connection = await this.ensureConnected();
    let queue = this.queues.get(queueName);
    if (!queue) {
      queue = new Queue(queueName, { connection, prefix: this.config.queuePrefix });
      // Connection errors during an outage reach callers through their failing commands.
      queue.on('error', () => undefined);
      this.queues.set(queueName, queue);
    }
    return queue;
  }

  /**
   * With RAGSCOPE_ENQUEUE_WAIT_REPLICAS, an enqueue is acknowledged only once that many replicas hold
   * it: Redis replication is asynchronous, so without WAIT a job acknowledged just before the primary
   * dies may be missing on the replica Sentinel promotes. WAIT covers every earlier write of this
   * connection, which is the one the queue wrote the job with.
   */
  private async confirmReplicated(jobId: string): Promise<void> {
    const replicas = this.config.enqueueWaitReplicas;
    if (replicas === 0 || !this.connection) return;
    const confirmed = (await this.connection.call('WAIT', replicas, this.config.enqueueWaitMs)) as number;
    if (confirmed < replicas) {
      throw new ServiceUnavailableError(
        `job ${jobId} reached ${confirmed} of ${replicas} replica(s) within ${this.config.enqueueWaitMs} ms, so it is not acknowledged (it may still run)`,
        'retry with the same job id: an existing id is not added twice',
      );
    }
  }

  /**
   * Adds one job. While Redis is down or failing over this fails within seconds with a
   * ServiceUnavailableError (retryable; 503 from serve) instead of waiting for Redis to return.
   */
  private async enqueue(
    queueName: QueueName,
    jobName: string,
    data: Record<string, unknown>,
    jobOptions: JobsOptions,
    attributes: Record<string, string | number>,
  ): Promise<EnqueuedJob> {
    try {
      return await this.enqueueOnce(queueName, jobName, data, jobOptions, attributes);
    } catch (error) {
      // Already explained (e.g. Redis unreachable at start-up): pass it on as it is.
      if (!isUserError(error) && isRedisUnavailable(error)) throw redisUnavailableError(this.config.redis, error);
      throw error;
    }
  }

  private async enqueueOnce(
    queueName: QueueName,
    jobName: string,
    data: Record<string, unknown>,
    jobOptions: JobsOptions,
    attributes: Record<string, string | number>,
  ): Promise<EnqueuedJob> {
    // Subscribe before adding, so a job that finishes at once still reaches a later waitForResult.
    await this.events(queueName);
    await this.assertRoom(queueName);
    const { meter, sampler } = this.sampling!;
    const decision = await sampler.decide();
    return inSpan(
      'rag.enqueue',
      {
        kind: SpanKind.PRODUCER,
        sampled: decision.sampled,
        attributes: { 'messaging.system': 'bullmq', 'messaging.destination.name': queueName, ...attributes },
      },
      async (span) => {
        const trace = injectTraceCarrier();
        const queue = await this.queue(queueName);
        // Counted here only when the decision rides with the job; a job without a carrier (tracing
        // off here) is counted by the worker that starts its trace, so no job is counted twice.
        const [job] = await Promise.all([
          queue.add(
            jobName,
            { ...data, ...(trace ? { trace } : {}), enqueuedAt: new Date().toISOString() },
            {
              attempts: this.config.jobAttempts,
              backoff: { type: 'exponential', delay: 1000 },
              // Results stay readable for a day (or the last 1,000), failures for a week.
              removeOnComplete: { age: 24 * 3600, count: 1000 },
              removeOnFail: { age: 7 * 24 * 3600 },
              ...jobOptions,
            },
          ),
          trace ? meter.recordEnqueue() : undefined,
        ]);
        await this.confirmReplicated(job.id ?? '');
        span.setAttributes({ 'job.id': job.id ?? '', 'sampling.rate': decision.rate });
        return { jobId: job.id ?? '', queue: queueName, traceId: activeTraceId(), sampled: decision.sampled };
      },
    );
  }

  /**
   * Backpressure: throws QueueFullError (nothing enqueued) once `maxWaiting` jobs wait in the queue.
   * The count is read for every enqueue, not cached: a cache of T seconds would let a flood of R
   * requests a second overshoot the cap by R × T jobs, while one count is a single O(1) script
   * (LLEN and ZCARD) next to the add's own. Enqueues arriving while a count is in flight share it,
   * so a flood costs at most one count per round trip to Redis, and the cap is overshot by at most
   * the enqueues that shared a count (the concurrent requests of this producer).
   */
  private async assertRoom(queueName: QueueName): Promise<void> {
    const maxWaiting = this.config.maxWaiting;
    if (maxWaiting === 0) return;
    let counting = this.waitingCounts.get(queueName);
    if (!counting) {
      counting = this.queue(queueName)
        .then((queue) => queue.getJobCountByTypes('waiting', 'prioritized'))
        .finally(() => this.waitingCounts.delete(queueName));
      this.waitingCounts.set(queueName, counting);
    }
    const waiting = await counting;
    if (waiting >= maxWaiting) throw new QueueFullError(queueName, waiting, maxWaiting, QUEUE_FULL_RETRY_AFTER_SECONDS);
  }

  private async events(queueName: QueueName): Promise<QueueEvents> {
    await this.ensureConnected();
    let entry = this.queueEvents.get(queueName);
    if (!entry) {
      // QueueEvents blocks on XREAD, so it needs a connection of its own that waits through outages.
      const connection = createRedisConnection(this.config.redis, 'worker');
      connection.on('error', () => undefined);
      const opening = openQueueEvents(queueName, connection, this.config.queuePrefix).then((events) => {
        events.on('error', () => undefined);
        events.on('completed', ({ jobId, returnvalue }) => this.finishWaiters(queueName, jobId, { returnvalue }));
        events.on('failed', ({ jobId, failedReason }) => this.finishWaiters(queueName, jobId, { failedReason }));
        return events;
      });
      entry = { events: opening, connection };
      this.queueEvents.set(queueName, entry);
      // Failed to open (its first read failed): the next wait opens a new one instead of failing on this.
      opening.catch(() => {
        if (this.queueEvents.get(queueName)?.events !== opening) return;
        this.queueEvents.delete(queueName);
        void closeRedis(connection).catch(() => undefined);
      });
    }
    const events = await entry.events;
    await events.waitUntilReady();
    return events;
  }

  private waitersOf(queueName: QueueName): Map<string, Set<Waiter>> {
    let waiters = this.waiters.get(queueName);
    if (!waiters) this.waiters.set(queueName, (waiters = new Map()));
    return waiters;
  }

  private finishWaiters(queueName: QueueName, jobId: string, finished: Finished | Error): void {
    for (const waiter of [...(this.waiters.get(queueName)?.get(jobId) ?? [])]) waiter(finished);
  }
}
