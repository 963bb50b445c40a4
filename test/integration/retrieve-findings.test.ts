import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RagQueryResult } from '../../src/contracts/rag-query';
import { freePort, REDIS_URL, uniquePrefix } from '../helpers/env';
import { startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { openTestQueue, type TestQueue } from '../helpers/redis';
import { Queue, QueueEvents } from 'bullmq';
import { QUEUES } from '../../src/contracts/queues';

describe("a profiled job's SQL plan", () => {
  const prefix = uniquePrefix('findings');
  let testQueue: TestQueue;
  let worker: WorkerProcess;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    testQueue = await openTestQueue(prefix);
    worker = await startWorkerProcess({
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      DD_TRACE_ENABLED: 'false',
      RAGSCOPE_METRICS_PORT: String(metricsPort),
      DD_PROFILING_CAPTURE_PCT: '0',
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
  });

  const run = async (data: object) => (await (await testQueue.queue.add('query', data)).waitUntilFinished(testQueue.events, 30_000)) as RagQueryResult;

  it('comes back with the findings of the retrieve statement, counted in ragscope_sql_findings_total', async () => {
    const profiled = await run({ query: 'redis eviction policy for queues and memory', userId: 'sql', profile: 'always' });
    const unprofiled = await run({ query: 'redis eviction policy for queues and memory', userId: 'sql' });
    expect(unprofiled.findings).toBeUndefined();
    // findings is there only when the retrieve statement's EXPLAIN ANALYZE ran (inspected, then on
    // a PGlite copy in its own thread); which rules fire depends on timing (hot-node needs 1 ms),
    // so the thresholds are tested on recorded plans (test/unit/plan-rules.test.ts), not here.
    expect(Array.isArray(profiled.findings), 'the retrieve statement was not explained').toBe(true);
    for (const finding of profiled.findings!) {
      // documents (tsv) has its GIN index: no finding may ask for it again.
      expect(finding.suggestion).not.toMatch(/CREATE INDEX ON documents USING GIN \(tsv\)/);
    }
    expect(profiled.sources).toEqual(unprofiled.sources);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const finding of profiled.findings!) {
      expect(metrics).toContain(`ragscope_sql_findings_total{rule="${finding.rule}",severity="${finding.severity}"} 1`);
    }
    expect(metrics).toMatch(/^process_cpu_seconds_total \d/m);
    // Per-job profiling's cost beside the worker's CPU: one profile, asked for, and what the cap was charged for it.
    expect(metrics).toContain('ragscope_job_profiles_total{trigger="requested"} 1');
    expect(metrics).not.toMatch(/^ragscope_job_profiles_total\{trigger="sampled"\}/m);
    const charged = Number(/^ragscope_job_profiling_cpu_seconds_total (\S+)$/m.exec(metrics)?.[1]);
    expect(profiled.profiling?.overheadMs).toBeGreaterThan(0);
    expect(charged).toBeCloseTo(profiled.profiling!.overheadMs! / 1000, 5);
  });

  it("the worker's /metrics counts finished jobs and their durations for both queues", async () => {
    const leakQueue = new Queue(QUEUES.leakCheck, { connection: testQueue.connection, prefix });
    const leakEvents = new QueueEvents(QUEUES.leakCheck, { connection: testQueue.connection.duplicate(), prefix });
    try {
      await leakEvents.waitUntilReady();
      await (await leakQueue.add('leak-check', { iterations: 3 })).waitUntilFinished(leakEvents, 30_000);
      await run({ query: 'kubernetes on-call runbook', userId: 'metrics' });
    } finally {
      await leakEvents.close();
      await leakQueue.close();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const queue of ['rag-query', 'leak-check']) {
      expect(metrics).toMatch(new RegExp(`^ragscope_jobs_total\\{queue="${queue}",status="completed"\\} [1-9]`, 'm'));
      expect(metrics).toMatch(new RegExp(`^ragscope_job_duration_seconds_count\\{queue="${queue}"\\} [1-9]`, 'm'));
    }
    for (const stage of ['embed', 'retrieve', 'rerank', 'generate']) {
      expect(metrics).toMatch(new RegExp(`^ragscope_stage_duration_seconds_count\\{stage="${stage}"\\} [1-9]`, 'm'));
    }
    expect(metrics).toMatch(/^ragscope_heap_used_bytes \d+/m);
  });
});

describe('plans of sampled profiles (RAGSCOPE_PLAN_INTERVAL_SECONDS)', () => {
  const prefix = uniquePrefix('plan-reuse');
  let testQueue: TestQueue;
  let worker: WorkerProcess;

  beforeAll(async () => {
    testQueue = await openTestQueue(prefix);
    // Every auto job is profiled by sampling, whatever the overhead cap; the default interval (600 s) holds for the whole test.
    worker = await startWorkerProcess({
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      DD_TRACE_ENABLED: 'false',
      DD_PROFILING_CAPTURE_PCT: '100',
      DD_PROFILING_MAX_TIME_USAGE_PCT: '100',
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
  });

  const run = async (data: object) => (await (await testQueue.queue.add('query', data)).waitUntilFinished(testQueue.events, 60_000)) as RagQueryResult;

  it('plans a statement for the first sampled profile, reuses that plan for the next, and plans afresh when a job asks', async () => {
    const query = { query: 'redis eviction policy for queues and memory', userId: 'plans' };
    const first = await run(query);
    const second = await run({ ...query, query: 'kubernetes on-call runbook' });
    const asked = await run({ ...query, profile: 'always' });
    for (const result of [first, second, asked]) expect(result.profiling?.profiled, result.profiling?.reason).toBe(true);

    expect(first.plans, 'the first sampled profile took no plan').toHaveLength(1);
    expect(first.plans![0]!.reused).toBe(false);
    // Same statement text (the query is a bind parameter): the second sampled profile reports the first plan.
    expect(second.plans).toEqual([{ ...first.plans![0]!, reused: true }]);
    expect(second.findings).toEqual(first.findings);
    expect(asked.plans![0]!.reused).toBe(false);
    expect(Date.parse(asked.plans![0]!.plannedAt)).toBeGreaterThan(Date.parse(first.plans![0]!.plannedAt));
  });
});
