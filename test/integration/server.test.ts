import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type RagscopeConfig } from '../../src/config/config';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
import { openSqlClient } from '../../src/db/sql-client';
import { createRedisConnection } from '../../src/queue/connection';
import { RagscopeProducer } from '../../src/queue/producer';
import { buildServer, type HealthCheck } from '../../src/server/app';
import { freePort, REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

const TOKEN = 'test-token-0123456789';
const PASSWORD = 'board-password-42';

describe('HTTP API', () => {
  const prefix = uniquePrefix('server');
  const baseEnv = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS: '1000' };
  const config: RagscopeConfig = loadConfig(baseEnv);
  const redis = createRedisConnection({ kind: 'single', url: REDIS_URL }, 'producer');
  const heapStore = new HeapSeriesStore(redis, prefix, { maxSamples: 168, sampleIntervalMs: 1000 });
  const producers: RagscopeProducer[] = [];
  const apps: FastifyInstance[] = [];
  let worker: WorkerProcess;
  let open: FastifyInstance;
  let secured: FastifyInstance;

  const redisCheck: HealthCheck = { name: 'redis', check: async () => `PONG ${await redis.ping()}` };
  const build = async (overrides: Partial<RagscopeConfig['server']> = {}, healthChecks: HealthCheck[] = [redisCheck]) => {
    const producer = new RagscopeProducer(config);
    producers.push(producer);
    const app = await buildServer({
      config: { ...config, server: { ...config.server, ...overrides } },
      producer,
      heapStore,
      logger: pino({ level: 'silent' }),
      healthChecks,
    });
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    worker = await startWorkerProcess(baseEnv);
    open = await build();
    secured = await build({ apiToken: TOKEN, adminPassword: PASSWORD });
  });

  afterAll(async () => {
    await worker?.stop();
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all(producers.map((producer) => producer.close()));
    await redis.quit();
    await deletePrefix(prefix);
  });

  it('GET /health reports Redis, PostgreSQL, workers and versions', async () => {
    const response = await open.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ status: 'ok', checks: { redis: { ok: true } }, versions: { ragscope: '0.1.0' } });
    expect(body.workers.seenRecently).toBeGreaterThanOrEqual(1);
  });

  it('GET /health answers 503 when PostgreSQL is down', async () => {
    const port = await freePort();
    const postgres: HealthCheck = {
      name: 'postgres',
      check: async () => {
        const sql = await openSqlClient({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/test` });
        await sql.close();
        return 'ok';
      },
    };
    const app = await build({}, [redisCheck, postgres]);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json().checks.postgres).toMatchObject({ ok: false, status: expect.stringMatching(/cannot reach PostgreSQL/) });
  });

  it('POST /query → 202 with a status URL; GET /jobs/:id gives the result', async () => {
    const response = await open.inject({ method: 'POST', url: '/query', payload: { query: 'Which Redis eviction policy suits queues?', user_id: 'http' } });
    expect(response.statusCode).toBe(202);
    const accepted = response.json();
    expect(accepted).toMatchObject({ job_id: expect.any(String), status_url: `/jobs/${accepted.job_id}` });
    const job = await waitFor(async () => {
      const status = (await open.inject({ method: 'GET', url: accepted.status_url })).json();
      return status.state === 'completed' ? status : undefined;
    }, 20_000, 'the job to complete');
    expect(job.result.sources.length).toBeGreaterThan(0);
    expect(job.result.stages).toHaveLength(4);
  });

  it('POST /query?wait= returns the result, or 202 when it takes longer', async () => {
    const waited = await open.inject({ method: 'POST', url: '/query?wait=30', payload: { query: 'GDPR retention', user_id: 'http', top_k: 3 } });
    expect(waited.statusCode).toBe(200);
    expect(waited.json()).toMatchObject({ state: 'completed', result: { sources: expect.any(Array) } });
    expect(waited.json().result.sources).toHaveLength(3);
    const impatient = await open.inject({
      method: 'POST',
      url: '/query?wait=0.001',
      payload: { query: 'slow on purpose: reranking embeddings chunking cosine documents retrieval', user_id: 'http', plant_bottleneck: true },
    });
    expect(impatient.statusCode).toBe(202);
  });

  it.each([
    ['missing user_id', { query: 'q' }, /user_id: is required/],
    ['empty query', { query: '', user_id: 'u' }, /query: must NOT have fewer than 1 characters/],
    ['blank query', { query: '   ', user_id: 'u' }, /query: must not be blank/],
    ['top_k too big', { query: 'q', user_id: 'u', top_k: 99 }, /top_k: must be <= 50/],
    ['top_k a string', { query: 'q', user_id: 'u', top_k: '5' }, /top_k: must be integer/],
    ['unknown field', { query: 'q', user_id: 'u', topK: 5 }, /must NOT have additional properties/],
    ['profile unknown', { query: 'q', user_id: 'u', profile: 'sometimes' }, /profile: must be equal to one of the allowed values/],
    ['an array', [1, 2], /must be object/],
  ])('POST /query with %s → 400 naming the field', async (_label, payload, message) => {
    const response = await open.inject({ method: 'POST', url: '/query', payload: payload as object });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatch(message);
  });

  it('refuses malformed JSON with 400 and an oversized body with 413, never 500', async () => {
    const malformed = await open.inject({ method: 'POST', url: '/query', headers: { 'content-type': 'application/json' }, payload: '{"query": ' });
    expect(malformed.statusCode).toBe(400);
    const oversized = await open.inject({ method: 'POST', url: '/query', payload: { query: 'x'.repeat(70_000), user_id: 'u' } });
    expect(oversized.statusCode).toBe(413);
    const wrongWait = await open.inject({ method: 'POST', url: '/query?wait=soon', payload: { query: 'q', user_id: 'u' } });
    expect(wrongWait.statusCode).toBe(400);
  });

  it('GET /jobs/:id → 404 for an unknown id, 400 for a malformed one', async () => {
    expect((await open.inject({ method: 'GET', url: '/jobs/999999999' })).statusCode).toBe(404);
    expect((await open.inject({ method: 'GET', url: '/jobs/..%2Fetc' })).statusCode).toBe(400);
    expect((await open.inject({ method: 'GET', url: '/jobs/1?queue=nope' })).statusCode).toBe(400);
  });

  it('POST /memory/leak-check → 202, progress and verdict at /jobs/:id?queue=leak-check; bad bodies → 400', async () => {
    const response = await open.inject({ method: 'POST', url: '/memory/leak-check', payload: { iterations: 8 } });
    expect(response.statusCode).toBe(202);
    const { status_url: statusUrl } = response.json();
    expect(statusUrl).toMatch(/\?queue=leak-check$/);
    const job = await waitFor(async () => {
      const status = (await open.inject({ method: 'GET', url: statusUrl })).json();
      return status.state === 'completed' ? status : undefined;
    }, 30_000, 'the leak check');
    expect(job.progress).toMatchObject({ iteration: 8 });
    expect(job.result).toMatchObject({ leakDetected: false, samples: expect.any(Array) });
    expect((await open.inject({ method: 'POST', url: '/memory/leak-check', payload: { iterations: 0 } })).statusCode).toBe(400);
    expect((await open.inject({ method: 'POST', url: '/memory/leak-check', payload: {} })).json().error).toMatch(/iterations: is required/);
  });

  it('GET /memory/stats shows this process and every reporting worker', async () => {
    const body = (await open.inject({ method: 'GET', url: '/memory/stats' })).json();
    expect(body.process.heap_used_mb).toBeGreaterThan(0);
    expect(Array.isArray(body.workers)).toBe(true);
  });

  it('GET /metrics speaks Prometheus text with queue depth by state', async () => {
    const response = await open.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(/^ragscope_queue_jobs\{queue="rag-query",state="completed"\} [1-9]/m);
    expect(response.body).toMatch(/^ragscope_heap_used_bytes \d+/m);
  });

  it('GET /docs serves the OpenAPI UI and document', async () => {
    expect((await open.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
    const document = (await open.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/health', '/query', '/jobs/{id}', '/memory/leak-check', '/memory/stats']));
  });

  it('Bull Board is open on an unsecured loopback server, and needs basic auth when a password is set', async () => {
    expect((await open.inject({ method: 'GET', url: '/admin/queues' })).statusCode).toBe(200);
    const anonymous = await secured.inject({ method: 'GET', url: '/admin/queues' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic/);
    const wrong = await secured.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
    expect(wrong.statusCode).toBe(401);
    const admin = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
    expect((await secured.inject({ method: 'GET', url: '/admin/queues', headers: admin })).statusCode).toBe(200);
    const queues = await secured.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: admin });
    expect(queues.statusCode).toBe(200);
    const names = (queues.json() as { queues: Array<{ name: string; readOnlyMode: boolean }> }).queues;
    expect(names.map((queue) => queue.name).sort()).toEqual(['leak-check', 'rag-query']);
    expect(names.every((queue) => queue.readOnlyMode)).toBe(true);
  });

  it('POST endpoints need the bearer token when one is set; /health stays open', async () => {
    const payload = { query: 'q', user_id: 'u' };
    expect((await secured.inject({ method: 'POST', url: '/query', payload })).statusCode).toBe(401);
    expect((await secured.inject({ method: 'POST', url: '/query', payload, headers: { authorization: 'Bearer wrong-token-000000' } })).statusCode).toBe(401);
    expect((await secured.inject({ method: 'POST', url: '/query', payload, headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(202);
    expect((await secured.inject({ method: 'POST', url: '/memory/leak-check', payload: { iterations: 1 } })).statusCode).toBe(401);
    expect((await secured.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('`serve` refuses a non-loopback address without credentials', async () => {
    const run = await runCli(['serve', '--host', '0.0.0.0', '--port', String(await freePort())], baseEnv);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refusing to serve on 0\.0\.0\.0 without credentials/);
    expect(run.stderr).toMatch(/RAGSCOPE_API_TOKEN/);
  });
});
