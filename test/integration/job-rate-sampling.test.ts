import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SamplingConfig } from '../../src/config/config';
import type { RagQueryResult } from '../../src/contracts/rag-query';
import { JobRateMeter } from '../../src/queue/job-rate';
import { createMetrics } from '../../src/telemetry/metrics';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import { TraceSampler } from '../../src/telemetry/sampling/trace-sampler';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { deletePrefix, openTestQueue, type TestQueue } from '../helpers/redis';

const POLICY: SamplingConfig = {
  baseRate: 0.1,
  highVolumeRate: 0.01,
  highVolumeJobsPerHour: 10_000,
  pricePerMillionSpansUsd: 5,
  budgetAlertsUsd: [100, 200],
};
const MINUTE = 60_000;
/** A fixed start on a minute boundary, so bucket arithmetic in the test is exact. */
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

/** Draws 0, 1/n, 2/n, ...: exactly `rate × n` of n decisions fall below the rate. */
function evenDraws(n: number): () => number {
  let index = 0;
  return () => (index++ % n) / n;
}

describe('the shared job-rate meter and the sampler, on Redis with a simulated clock', () => {
  const prefix = uniquePrefix('job-rate');
  const redis = new Redis(REDIS_URL);

  afterAll(async () => {
    await deletePrefix(prefix);
    await redis.quit();
  });

  /** The count each write of the meter sends to T0's bucket under `keyPrefix`, as Redis's MONITOR sees them. */
  const watchCountWrites = async (keyPrefix: string) => {
    const bucketKey = `${keyPrefix}:ragscope:enqueued:${Math.floor(T0 / MINUTE)}`;
    const monitor = await redis.monitor();
    const writes: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'eval' && args[3] === bucketKey) writes.push(args[4]!);
    });
    return { monitor, writes };
  };

  it('counts a sliding hour of one-minute buckets, and switches to the high-volume rate above 10,000 jobs/hour', async () => {
    let now = T0;
    const clock = () => now;
    const writer = new JobRateMeter(redis, prefix, clock);
    await writer.recordEnqueue(6_000);
    now = T0 + 30 * MINUTE;
    await writer.recordEnqueue(4_000);

    // Fresh meters: one instance reuses its reading for 10 s (asserted below).
    const meterAt = (atMs: number) => new JobRateMeter(redis, prefix, () => atMs);
    expect(await meterAt(T0 + 30 * MINUTE).jobsPerHour()).toBe(10_000);
    const draws = 10_000;
    const sample = async (meter: JobRateMeter) => {
      const sampler = new TraceSampler(meter, POLICY, evenDraws(draws), createMetrics());
      const decisions = [];
      for (let index = 0; index < draws; index++) decisions.push(await sampler.decide());
      return { rate: decisions[0]!.rate, kept: decisions.filter((decision) => decision.sampled).length };
    };
    // At 10,000 jobs/hour the base rate holds: 1,000 of 10,000 traces kept.
    expect(await sample(meterAt(T0 + 30 * MINUTE))).toEqual({ rate: 0.1, kept: 1_000 });

    await writer.recordEnqueue(1);
    expect(await meterAt(T0 + 30 * MINUTE).jobsPerHour()).toBe(10_001);
    // Above it, 1%: 100 of 10,000.
    expect(await sample(meterAt(T0 + 30 * MINUTE))).toEqual({ rate: 0.01, kept: 100 });

    // An hour after the first burst its bucket has left the window: back to the base rate.
    expect(await meterAt(T0 + 60 * MINUTE).jobsPerHour()).toBe(4_001);
    expect(await sample(meterAt(T0 + 60 * MINUTE))).toEqual({ rate: 0.1, kept: 1_000 });

    // One instance asks Redis at most every 10 s; the rate moves over minutes.
    now = T0 + 60 * MINUTE;
    const cached = new JobRateMeter(redis, prefix, clock);
    expect(await cached.jobsPerHour()).toBe(4_001);
    await writer.recordEnqueue(20_000);
    now += 9_999;
    expect(await cached.jobsPerHour()).toBe(4_001);
    now += 1;
    expect(await cached.jobsPerHour()).toBe(24_001);
  });

  it('writes counts recorded while a write is in flight together, and every count lands', async () => {
    const coalesced = uniquePrefix('job-rate-coalesce');
    const { monitor, writes } = await watchCountWrites(coalesced);
    try {
      const meter = new JobRateMeter(redis, coalesced, () => T0);
      // The first count goes out at once; the 199 recorded while it is in flight go out in one write.
      await Promise.all(Array.from({ length: 200 }, () => meter.recordEnqueue()));
      expect(await new JobRateMeter(redis, coalesced, () => T0).jobsPerHour()).toBe(200);
      // Nothing in flight: a count is in Redis as soon as its promise resolves.
      await meter.recordEnqueue(5);
      expect(await new JobRateMeter(redis, coalesced, () => T0).jobsPerHour()).toBe(205);
      await waitFor(() => (writes.length >= 3 ? true : undefined), 10_000, 'the MONITOR lines of three writes');
      expect(writes).toEqual(['1', '199', '5']);
    } finally {
      monitor.disconnect();
      await deletePrefix(coalesced);
    }
  });

  it("spaces a worker's writes: counts wait for the interval, all in one write, and flush sends them at once", async () => {
    const spaced = uniquePrefix('job-rate-spaced');
    const { monitor, writes } = await watchCountWrites(spaced);
    const read = () => new JobRateMeter(redis, spaced, () => T0).jobsPerHour();
    let now = T0;
    // A minute of spacing on a clock the test moves: nothing here depends on how fast the machine is.
    const meter = new JobRateMeter(redis, spaced, () => now, { minWriteIntervalMs: MINUTE - 1 });
    try {
      // Nothing written for a while: the first count goes out at once.
      await meter.recordEnqueue();
      expect(await read()).toBe(1);
      // Within the interval: held, however many, and nothing holds the process open meanwhile.
      const held = Array.from({ length: 50 }, () => meter.recordEnqueue());
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await read()).toBe(1);
      // A worker closing flushes: the held counts go out together without waiting out the interval.
      await meter.flush();
      await Promise.all(held);
      expect(await read()).toBe(51);
      // Once the interval has passed, a count goes out at once again.
      now += MINUTE - 1;
      await meter.recordEnqueue(2);
      expect(await read()).toBe(53);
      await waitFor(() => (writes.length >= 3 ? true : undefined), 10_000, 'the MONITOR lines of three writes');
      expect(writes).toEqual(['1', '50', '2']);
    } finally {
      monitor.disconnect();
      await deletePrefix(spaced);
    }
  });
});

/**
 * Jobs without a carrier (a script's) start their trace in the worker: the worker counts them in
 * the shared meter and samples them at the rate the meter implies. Checked on what the worker
 * exports, with the high-volume rate set to 0 so the outcome is certain.
 */
describe('carrier-less jobs in the worker', () => {
  let intake: LocalIntake;
  const redis = new Redis(REDIS_URL);
  const started: Array<{ worker: WorkerProcess; queue: TestQueue }> = [];

  beforeAll(async () => {
    intake = await startLocalIntake({ port: 0 });
  });

  afterAll(async () => {
    for (const { worker, queue } of started) {
      await worker.stop();
      await queue.close();
    }
    await intake?.close();
    await redis.quit();
  });

  const startWorker = async (prefix: string) => {
    const env = {
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      DD_TRACE_AGENT_URL: intake.url,
      DD_TRACE_SAMPLE_RATE: '1',
      RAGSCOPE_TRACE_SAMPLE_RATE_HIGH_VOLUME: '0',
    };
    const worker = await startWorkerProcess(env);
    const queue = await openTestQueue(prefix);
    started.push({ worker, queue });
    return { env, queue, worker };
  };
  const jobsPerHour = (prefix: string) => new JobRateMeter(redis, prefix).jobsPerHour();
  const scriptJob = async (queue: TestQueue, data: Record<string, unknown> = {}) => {
    const job = await queue.queue.add('query', { query: 'retention of audit logs', userId: 'script', ...data });
    return { jobId: job.id!, result: (await job.waitUntilFinished(queue.events, 30_000)) as RagQueryResult };
  };
  const exportedJobSpan = (jobId: string) =>
    waitFor(() => intake.store.allSpans().find((span) => span.name === 'rag.job' && span.meta['job.id'] === jobId), 20_000, `rag.job of job ${jobId}`);

  it('counts each job once, wherever its trace starts', async () => {
    const prefix = uniquePrefix('rate-count');
    const { env, queue, worker } = await startWorker(prefix);

    for (let index = 0; index < 3; index++) {
      const { jobId, result } = await scriptJob(queue);
      const span = await exportedJobSpan(jobId);
      expect(span.parentId).toBeUndefined();
      expect(span.traceId).toBe(result.traceId);
    }
    // The worker writes its counts at most once a second: the third may arrive a second after its job.
    const counted = (expected: number) =>
      waitFor(async () => ((await jobsPerHour(prefix)) === expected ? true : undefined), 10_000, `a count of ${expected}`);
    await counted(3);

    // ragscope's producer sends a carrier and counts the job itself; the worker does not count it again.
    const traced = await runCli(['enqueue', 'query', 'Who approves access?', '--user-id', 'alice', '--wait', '--json'], env);
    expect(traced.code).toBe(0);
    await counted(4);

    // With tracing off the producer sends no carrier and leaves the count to the worker.
    const untraced = await runCli(['enqueue', 'query', 'Who approves access?', '--user-id', 'alice', '--wait', '--json'], {
      ...env,
      DD_TRACE_ENABLED: 'false',
    });
    expect(untraced.code).toBe(0);
    await counted(5);
    // Counted once: a stopping worker sends whatever it still holds, so after it has exited no count can arrive late.
    expect(await worker.stop()).toBe(0);
    expect(await jobsPerHour(prefix)).toBe(5);
  });

  it('above 10,000 jobs/hour the high-volume rate applies to jobs from scripts too', async () => {
    const prefix = uniquePrefix('rate-high');
    // The last hour as the worker will see it: 10,001 jobs, counted before it starts.
    await new JobRateMeter(redis, prefix).recordEnqueue(10_001);
    const { queue } = await startWorker(prefix);

    const dropped = [];
    for (let index = 0; index < 5; index++) dropped.push(await scriptJob(queue));
    for (const { result } of dropped) expect(result.traceId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(async () => ((await jobsPerHour(prefix)) === 10_006 ? true : undefined), 10_000, 'a count of 10,006');

    // A job with a sampled carrier was decided by its producer; its spans arrive after any the
    // earlier jobs could have sent (one process, one exporter, flushed in order).
    const sentinelTraceId = '7e57ab1e0000000000000000000000aa';
    const sentinel = await queue.queue.add('query', {
      query: 'q',
      userId: 'u',
      trace: { traceparent: `00-${sentinelTraceId}-1234567890abcdef-01` },
    });
    await sentinel.waitUntilFinished(queue.events, 30_000);
    await waitFor(() => (intake.store.trace(sentinelTraceId).length >= 5 ? true : undefined), 20_000, 'the sentinel trace');
    for (const { result } of dropped) expect(intake.store.trace(result.traceId!), result.traceId).toEqual([]);
  });
});
