import { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type RagscopeConfig } from '../../src/config/config';
import { QUEUES } from '../../src/contracts/queues';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
import { RagscopeProducer } from '../../src/queue/producer';
import { buildServer } from '../../src/server/app';
import { requireBasicAuth } from '../../src/server/auth';
import { createMetrics } from '../../src/telemetry/metrics';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli } from '../helpers/processes';
import { deletePrefix, openTestQueue, type TestQueue } from '../helpers/redis';

const TOKEN = 'hardening-token-0123456789';
const PASSWORD = 'hardening-board-pw';
const bearer = { authorization: `Bearer ${TOKEN}` };
const admin = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

/** A valid rag-query result, so completed jobs look like the real thing to every reader. */
const RESULT = { answer: 'a', sources: [], stages: [] };

/**
 * What a careful tester tried against `serve` (issue 16): BullMQ's own key names as job ids, long
 * ids, odd paging on Bull Board, reads without the token, odd auth headers, many waits at once.
 */
describe('HTTP API hardening', () => {
  const prefix = uniquePrefix('hardening');
  const config: RagscopeConfig = loadConfig({ REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const producer = new RagscopeProducer(config);
  let app: FastifyInstance;
  let testQueue: TestQueue;
  let worker: Worker;
  let completedId: string;

  beforeAll(async () => {
    app = await buildServer({
      config: { ...config, server: { ...config.server, apiToken: TOKEN, adminPassword: PASSWORD } },
      producer,
      heapStore: HeapSeriesStore.fromConfig(redis, config),
      logger: pino({ level: 'silent' }),
      healthChecks: [],
      metrics: createMetrics(),
    });
    testQueue = await openTestQueue(prefix);
    // A plain BullMQ worker, so every key BullMQ keeps for a queue exists: id, events, meta,
    // completed, failed, stalled-check, a job's logs and lock.
    worker = new Worker(
      QUEUES.ragQuery,
      async (job) => {
        await job.log('seen');
        if (job.name === 'fail') throw new Error('planned failure');
        return RESULT;
      },
      { connection: redis.duplicate(), prefix, concurrency: 50 },
    );
    const done = await testQueue.queue.add('ok', { query: 'q', userId: 'u' });
    const failed = await testQueue.queue.add('fail', { query: 'q', userId: 'u' });
    await done.waitUntilFinished(testQueue.events, 30_000);
    await failed.waitUntilFinished(testQueue.events, 30_000).catch(() => undefined);
    completedId = done.id!;
  });

  afterAll(async () => {
    await worker?.close();
    await app?.close();
    await producer.close();
    await testQueue?.close();
    await redis.quit();
    await deletePrefix(prefix);
  });

  const BULLMQ_KEY_NAMES = ['id', 'events', 'completed', 'failed', 'stalled-check', 'meta', 'wait', 'active', 'delayed', 'prioritized', 'paused', 'marker', 'pc', 'limiter', 'stalled', 'repeat'];

  it.each(BULLMQ_KEY_NAMES)("GET /jobs/%s (a BullMQ key name, not a job) → 404, never 500 or BullMQ's internals", async (id) => {
    const response = await app.inject({ method: 'GET', url: `/jobs/${id}`, headers: bearer });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: `no job ${id} in queue rag-query` });
  });

  it("GET /jobs/<id>:logs and /jobs/<id>:lock (a job's side keys) → 404", async () => {
    for (const id of [`${completedId}:logs`, `${completedId}:lock`, 'metrics:completed:data']) {
      expect((await app.inject({ method: 'GET', url: `/jobs/${id}`, headers: bearer })).statusCode, id).toBe(404);
    }
  });

  it('accepts every id the documented pattern allows (1–128 characters): 404 for unknown ones, 400 beyond', async () => {
    for (const length of [1, 100, 101, 127, 128]) {
      const response = await app.inject({ method: 'GET', url: `/jobs/${'a'.repeat(length)}`, headers: bearer });
      expect(response.statusCode, `${length} characters`).toBe(404);
    }
    const tooLong = await app.inject({ method: 'GET', url: `/jobs/${'a'.repeat(129)}`, headers: bearer });
    expect(tooLong.statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/jobs/${completedId}`, headers: bearer })).json()).toMatchObject({ state: 'completed', result: RESULT });
  });

  it('GET /jobs/:id requires the token whenever one is set', async () => {
    const anonymous = await app.inject({ method: 'GET', url: `/jobs/${completedId}` });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error).toMatch(/bearer token/);
    expect(anonymous.body).not.toContain('"answer"');
    expect((await app.inject({ method: 'GET', url: `/jobs/${completedId}`, headers: { authorization: 'Bearer wrong-token-0000000000' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: `/jobs/${completedId}`, headers: bearer })).statusCode).toBe(200);
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('the bearer scheme is case-insensitive (%s)', async (scheme) => {
    // An empty body: past the token check it is a 400, so nothing is enqueued.
    const response = await app.inject({ method: 'POST', url: '/query', payload: {}, headers: { authorization: `${scheme} ${TOKEN}` } });
    expect(response.statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/jobs/${completedId}`, headers: { authorization: `${scheme} ${TOKEN}` } })).statusCode).toBe(200);
  });

  it.each(['basic', 'BASIC'])('the basic scheme is case-insensitive (%s)', async (scheme) => {
    const credentials = Buffer.from(`admin:${PASSWORD}`).toString('base64');
    expect((await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { authorization: `${scheme} ${credentials}` } })).statusCode).toBe(200);
  });

  it('basic auth compares the password even when the user name is wrong', async () => {
    const compared: Array<[string, string]> = [];
    const hook = requireBasicAuth('admin', PASSWORD, (given, expected) => {
      compared.push([given, expected]);
      return given === expected;
    });
    const reply = { code: () => reply, header: () => reply, send: async () => reply };
    const request = { headers: { authorization: `Basic ${Buffer.from('mallory:guess').toString('base64')}` } };
    await hook(request as never, reply as never);
    expect(compared).toEqual([
      ['mallory', 'admin'],
      ['guess', PASSWORD],
    ]);
  });

  const BOARD_PATHS = [
    '/admin/queues/api/queues/rag-query/id',
    '/admin/queues/api/queues/rag-query/events',
    '/admin/queues/api/queues/rag-query/meta',
    '/admin/queues/api/queues/rag-query/completed',
    '/admin/queues/api/queues/rag-query/stalled-check',
    '/admin/queues/api/queues/rag-query/nope',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&page=-1',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&page=0',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&page=99999999999',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&page=1e30',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&jobsPerPage=0',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&jobsPerPage=-5',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&jobsPerPage=100000000000',
    '/admin/queues/api/queues?activeQueue=rag-query&status=completed&page=99999999999&jobsPerPage=99999999999',
    // Found by the fuzz test: a broken escape the board decodes again, a NUL in a value.
    '/admin/queues/api/queues?activeQueue=%25zz',
    '/admin/queues/api/job-schedulers?queueName=%25',
    '/admin/queues/api/queues?activeQueue=rag-query&status=%00',
    '/admin/queues/api/queues?status=%00',
  ];

  it.each(BOARD_PATHS)('Bull Board %s → no 500, no Redis or Lua details', async (url) => {
    const response = await app.inject({ method: 'GET', url, headers: admin });
    expect(response.statusCode).toBeLessThan(500);
    expect(response.body).not.toMatch(/WRONGTYPE|ERR |Lua|script|redis/i);
  });

  it('`serve` with a bad secret names the variable and the rule, never the value', async () => {
    const run = await runCli(['serve'], { RAGSCOPE_ADMIN_PASSWORD: 'hunter2pw', RAGSCOPE_API_TOKEN: 'tok-short-9', RAGSCOPE_QUEUE_PREFIX: prefix });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/RAGSCOPE_ADMIN_PASSWORD \(value not shown: it is a secret\): must be at least 12 characters/);
    expect(run.stderr).toMatch(/RAGSCOPE_API_TOKEN \(value not shown: it is a secret\): must be at least 16 characters/);
    expect(run.stderr).not.toMatch(/hunter2pw|tok-short-9/);
  });

  it('1,000 concurrent waits for results: one shared listener per queue, no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const jobs = await testQueue.queue.addBulk(Array.from({ length: 1000 }, (_, index) => ({ name: 'ok', data: { query: `q${index}`, userId: 'u' } })));
      const results = await Promise.all(jobs.map((job) => producer.waitForQueryResult(job.id!, 120_000)));
      expect(results).toHaveLength(1000);
      expect(results.every((result) => result.answer === 'a')).toBe(true);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => /MaxListeners/.test(warning))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 180_000);
});
