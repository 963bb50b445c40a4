import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, uniquePrefix } from '../helpers/env';
import { startLongRunning, waitFor, type WorkerProcess } from '../helpers/processes';
import { PrivateRedis } from '../helpers/redis';

const TOKEN = 'outage-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** Every endpoint of the API that reads or writes Redis, as a client calls it. */
const ENDPOINTS: Array<{ method: 'GET' | 'POST'; path: string; body?: unknown }> = [
  { method: 'POST', path: '/query', body: { query: 'what is the retention period?', user_id: 'outage' } },
  { method: 'POST', path: '/query?wait=5', body: { query: 'what is the retention period?', user_id: 'outage' } },
  { method: 'POST', path: '/memory/leak-check', body: { iterations: 5 } },
  { method: 'GET', path: '/jobs/1' },
  { method: 'GET', path: '/jobs/1?queue=leak-check' },
  { method: 'GET', path: '/memory/stats' },
  { method: 'GET', path: '/admin/queues/api/queues' },
  { method: 'GET', path: '/health' },
];

/**
 * `ragscope serve` while its Redis is stopped (issue 16, findings 1 and 2): every endpoint answers
 * 503 with Retry-After and says which service is down, within a second (before, 500 after 2.6–4 s);
 * /metrics keeps serving process metrics with the queue gauges marked stale; SIGTERM ends the
 * process cleanly (before, it ignored SIGTERM until SIGKILL).
 */
describe('Redis outage under `ragscope serve`', () => {
  let redis: PrivateRedis;
  let serve: WorkerProcess;
  let base: string;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = { REDIS_URL: redis.url, RAGSCOPE_QUEUE_PREFIX: uniquePrefix('outage'), DD_TRACE_ENABLED: 'false', RAGSCOPE_API_TOKEN: TOKEN };
    serve = await startLongRunning(['serve', '--port', String(port)], env, 'ragscope serve on');
  });

  afterAll(async () => {
    await serve?.stop();
    await redis?.stop();
  });

  const call = async ({ method, path, body }: (typeof ENDPOINTS)[number]) => {
    const startedAt = performance.now();
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text, elapsedMs: performance.now() - startedAt };
  };

  it('answers every endpoint normally while Redis is up', async () => {
    for (const endpoint of ENDPOINTS.filter((candidate) => !candidate.path.includes('wait'))) {
      expect((await call(endpoint)).status, endpoint.path).toBeLessThan(500);
    }
  });

  it('answers 503 with Retry-After and {"service":"redis"} on every endpoint within a second once Redis stops', async () => {
    await redis.stop();
    for (const endpoint of ENDPOINTS) {
      const { status, retryAfter, text, elapsedMs } = await call(endpoint);
      const label = `${endpoint.method} ${endpoint.path}`;
      expect(status, label).toBe(503);
      expect(Number(retryAfter), label).toBeGreaterThan(0);
      const body = JSON.parse(text) as Record<string, unknown>;
      if (endpoint.path === '/health') expect(body.checks, label).toMatchObject({ redis: { ok: false } });
      else expect(body, label).toMatchObject({ service: 'redis', error: expect.stringMatching(/Redis/) });
      // The bound tells answering from the connection's state apart from waiting on ioredis' retries (2.6–4 s before).
      expect(elapsedMs, label).toBeLessThan(1000);
    }
  });

  it('/metrics keeps serving process metrics and marks the queue gauges stale', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^ragscope_heap_used_bytes \d+/m);
    expect(text).toMatch(/^ragscope_queue_jobs_stale 1$/m);
  });

  it('recovers by itself when Redis comes back', async () => {
    await redis.start();
    const health = await waitFor(async () => {
      const { status } = await call({ method: 'GET', path: '/health' });
      return status === 200 ? status : undefined;
    }, 20_000, '/health to answer 200 again');
    expect(health).toBe(200);
    expect((await call(ENDPOINTS[0]!)).status).toBe(202);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^ragscope_queue_jobs_stale 0$/m);
  });

  it('SIGTERM with Redis down ends `serve` cleanly (exit 0), not at the grace period', async () => {
    await redis.stop();
    await waitFor(async () => ((await call({ method: 'GET', path: '/health' })).status === 503 ? true : undefined), 10_000, 'serve to see the outage');
    const code = await serve.stop();
    expect(code).toBe(0);
    expect(serve.output()).toMatch(/"server stopped"/);
    expect(serve.output()).not.toMatch(/shutdown did not finish in time/);
  });
});
