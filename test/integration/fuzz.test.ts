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
/** Generated GET requests per family (ids, query strings, Bull Board parameters): 3,000 in all. */
const REQUESTS_PER_FAMILY = 1000;

const TOKEN = 'fuzz-token-0123456789abcdef';
const PASSWORD = 'fuzz-board-password';
const CREDENTIALS = {
  api: { authorization: `Bearer ${TOKEN}` },
  board: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` },
};

/** BullMQ's own key names and a job's side keys: ids that once reached Redis as a job's hash. */
const RESERVED_IDS = ['id', 'events', 'meta', 'completed', 'failed', 'stalled-check', 'wait', 'active', 'delayed', 'paused', 'marker', 'pc', 'limiter', 'repeat', '1:logs', '1:lock', 'metrics:completed:data'];

/** Text as a client may put it in a URL: encoded, half-encoded, or with broken escapes. */
const urlText = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }).map(encodeURIComponent),
    fc.string({ unit: 'grapheme', maxLength }).map(encodeURIComponent),
    fc.stringMatching(/^[A-Za-z0-9%._~:@!$'()*+,;=-]*$/).map((text) => text.slice(0, maxLength)),
    fc.constantFrom('%', '%2', '%zz', '%E0%A4%A', '%00', '%FF', '..', '%2e%2e', '%2F', 'null', 'undefined', 'NaN', '-1', '1e309', '0x10', '  '),
  );

const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  urlText(12),
);

const queryString = (fields: Record<string, fc.Arbitrary<string>>) =>
  fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.array(fc.tuple(urlText(12), urlText(20)), { maxLength: 3 }))
    .map(([known, extra]) => [...Object.entries(known), ...extra].map(([name, value]) => `${name}=${value}`).join('&'));

describe('fuzzing through the queue and the HTTP API', () => {
  const prefix = uniquePrefix('fuzz');
  // Rate limiting off: thousands of requests from one address are the point here.
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0', RAGSCOPE_RATE_LIMIT_MAX: '0' };
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

  describe('HTTP paths and query strings (job ids, query parameters, Bull Board API parameters)', () => {
    let app: FastifyInstance;
    let producer: RagscopeProducer;
    const redis = createRedisConnection({ kind: 'single', url: REDIS_URL }, 'producer');

    beforeAll(async () => {
      const config = loadConfig({ ...env, RAGSCOPE_API_TOKEN: TOKEN, RAGSCOPE_ADMIN_PASSWORD: PASSWORD });
      producer = new RagscopeProducer(config);
      app = await buildServer({
        config,
        producer,
        heapStore: new HeapSeriesStore(redis, prefix, { maxSamples: 10, sampleIntervalMs: 1000 }),
        logger: pino({ level: 'silent' }),
        healthChecks: [],
      });
      // Real jobs of every state the board lists, so paging reads real lists.
      const queue = await producer.queue('rag-query');
      await queue.addBulk(Array.from({ length: 30 }, (_, index) => ({ name: 'query', data: { query: `q${index}`, userId: 'fuzz' } })));
    });

    afterAll(async () => {
      await app?.close();
      await producer?.close();
      await redis.quit();
    });

    const queueName = fc.oneof(fc.constantFrom('rag-query', 'leak-check', 'heap-sample'), urlText(30));
    const jobId = fc.oneof(fc.constantFrom(...RESERVED_IDS), fc.nat({ max: 100 }).map(String), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,140}$/), urlText(140));
    const families: Record<string, fc.Arbitrary<string>> = {
      'GET /jobs/:id': fc
        .tuple(jobId, fc.option(queryString({ queue: queueName }), { nil: undefined }))
        .map(([id, query]) => `/jobs/${id}${query === undefined ? '' : `?${query}`}`),
      'query strings': fc
        .tuple(fc.constantFrom('/jobs/1', '/memory/stats', '/health', '/metrics', '/jobs/1?', '/docs/json'), queryString({ queue: queueName, wait: numberText }))
        .map(([path, query]) => `${path}${path.endsWith('?') ? '' : '?'}${query}`),
      'Bull Board API': fc.oneof(
        queryString({ activeQueue: queueName, status: fc.oneof(fc.constantFrom('latest', 'active', 'waiting', 'completed', 'failed', 'delayed', 'paused', 'prioritized', 'waiting-children'), urlText(20)), page: numberText, jobsPerPage: numberText }).map(
          (query) => `/admin/queues/api/queues?${query}`,
        ),
        fc.tuple(queueName, jobId).map(([name, id]) => `/admin/queues/api/queues/${name}/${id}`),
        fc.tuple(queueName, jobId).map(([name, id]) => `/admin/queues/api/queues/${name}/${id}/logs`),
        fc.tuple(queueName, jobId, queryString({ depth: numberText, maxChildren: numberText, root: urlText(10) })).map(([name, id, query]) => `/admin/queues/api/queues/${name}/${id}/flow?${query}`),
        fc.tuple(queueName, fc.constantFrom('metrics', 'workers', 'rate-limit', 'default-job-options', 'job-data-schema')).map(([name, what]) => `/admin/queues/api/queues/${name}/${what}`),
        queryString({ queueName }).map((query) => `/admin/queues/api/job-schedulers?${query}`),
        fc.constant('/admin/queues/api/redis/stats'),
      ),
    };

    it.each(Object.keys(families))(`${REQUESTS_PER_FAMILY} generated requests (%s): never a 500, never Redis or Lua details`, async (family) => {
      const urls = fc.sample(families[family]!, { numRuns: REQUESTS_PER_FAMILY, seed: 23 });
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      for (const url of urls) {
        const response = await app.inject({ method: 'GET', url, headers: url.startsWith('/admin/') ? CREDENTIALS.board : CREDENTIALS.api });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (response.statusCode >= 500 || /WRONGTYPE|ERR |Lua|@user_script/.test(response.body)) failures.push(`${response.statusCode} ${url} ${response.body.slice(0, 200)}`);
      }
      console.log(`fuzz ${family}: ${urls.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
      expect(failures).toEqual([]);
    }, 180_000);
  });
});
