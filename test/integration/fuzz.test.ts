import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
import { createRedisConnection } from '../../src/queue/connection';
import { RagscopeProducer } from '../../src/queue/producer';
import { buildServer } from '../../src/server/app';
import { arbitraryJobData } from '../helpers/arbitraries';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { openTestQueue, type TestQueue } from '../helpers/redis';

const PAYLOADS = 1000;

describe('fuzzing through the queue and the HTTP API', () => {
  const prefix = uniquePrefix('fuzz');
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0' };
  let testQueue: TestQueue;
  let worker: WorkerProcess;

  beforeAll(async () => {
    testQueue = await openTestQueue(prefix);
    worker = await startWorkerProcess(env, ['--concurrency', '8']);
  });

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
  });

  it(`${PAYLOADS} generated payloads straight into Redis: each fails once with a reason or completes; none stuck; the worker lives`, async () => {
    const payloads = fc.sample(arbitraryJobData, { numRuns: PAYLOADS, seed: 7 });
    const jobs = await testQueue.queue.addBulk(
      payloads.map((data) => ({ name: 'fuzz', data: data as object, opts: { attempts: 3, backoff: { type: 'fixed', delay: 10 } } })),
    );
    const outcomes = await Promise.all(
      jobs.map((job) => job.waitUntilFinished(testQueue.events, 120_000).then(() => 'completed', (error: Error) => error.message)),
    );
    const failed = outcomes.filter((outcome) => outcome !== 'completed');
    expect(failed.length).toBeGreaterThan(PAYLOADS * 0.9);
    for (const reason of failed) expect(reason).toMatch(/^invalid rag-query job data: \S/);
    const counts = await testQueue.queue.getJobCounts('active', 'waiting', 'delayed', 'completed', 'failed');
    expect(counts).toMatchObject({ active: 0, waiting: 0, delayed: 0 });
    expect((counts.completed ?? 0) + (counts.failed ?? 0)).toBe(PAYLOADS);
    const retried = (await testQueue.queue.getFailed(0, PAYLOADS)).filter((job) => job.attemptsMade !== 1);
    expect(retried).toEqual([]);
    expect(worker.child.exitCode).toBeNull();
  }, 180_000);

  describe('HTTP bodies', () => {
    let app: FastifyInstance;
    let producer: RagscopeProducer;
    const redis = createRedisConnection({ kind: 'single', url: REDIS_URL }, 'producer');

    beforeAll(async () => {
      const config = loadConfig(env);
      producer = new RagscopeProducer(config);
      app = await buildServer({
        config,
        producer,
        heapStore: new HeapSeriesStore(redis, prefix, { maxSamples: 10, sampleIntervalMs: 1000 }),
        logger: pino({ level: 'silent' }),
        healthChecks: [],
      });
    });

    afterAll(async () => {
      await app?.close();
      await producer?.close();
      await redis.quit();
    });

    it(`${PAYLOADS} generated bodies to POST /query and /memory/leak-check: 4xx with an error, or accepted; never a 500`, async () => {
      const bodies = fc.sample(
        fc.oneof(
          arbitraryJobData,
          fc.record({ query: fc.string({ maxLength: 2100 }), user_id: fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue()), top_k: fc.jsonValue() }, { requiredKeys: [] }),
          fc.string().map((text) => ({ raw: text })),
        ),
        { numRuns: PAYLOADS, seed: 11 },
      );
      const statuses = new Map<number, number>();
      for (const [index, body] of bodies.entries()) {
        const url = index % 2 === 0 ? '/query' : '/memory/leak-check';
        const raw = (body as { raw?: string } | null)?.raw;
        const response = await app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload: raw !== undefined ? raw : JSON.stringify(body),
        });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        expect(response.statusCode, `${url} ${JSON.stringify(body).slice(0, 200)}`).toBeLessThan(500);
        if (response.statusCode >= 400) expect(response.json().error).toEqual(expect.any(String));
      }
      expect([...statuses.keys()].every((status) => [202, 400, 413].includes(status))).toBe(true);
      console.log(`fuzz HTTP statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    }, 120_000);
  });
});
