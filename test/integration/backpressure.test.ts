import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type RagscopeConfig } from '../../src/config/config';
import { QueueFullError } from '../../src/contracts/errors';
import { QUEUES } from '../../src/contracts/queues';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
import { RagscopeProducer } from '../../src/queue/producer';
import { buildServer } from '../../src/server/app';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

const CAP = 10;
const TOKEN = 'backpressure-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };
const QUERY = { query: 'how is the backlog bounded?', user_id: 'flood' };

/**
 * Backpressure and rate limits (issue 16, finding 4: bursts of POST /query left 22,231 jobs waiting
 * without one 429). No worker runs, so whatever is accepted stays waiting and the cap is reached.
 */
describe('backpressure: RAGSCOPE_MAX_WAITING', () => {
  const prefix = uniquePrefix('backpressure');
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_MAX_WAITING: String(CAP), RAGSCOPE_RATE_LIMIT_MAX: '0' };
  const config: RagscopeConfig = loadConfig(env);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const producer = new RagscopeProducer(config);
  const queues = Object.fromEntries([QUEUES.ragQuery, QUEUES.leakCheck].map((name) => [name, new Queue(name, { connection: redis, prefix })]));
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildServer({
      config,
      producer,
      heapStore: HeapSeriesStore.fromConfig(redis, config),
      logger: pino({ level: 'silent' }),
      healthChecks: [],
    });
  });

  afterAll(async () => {
    await app?.close();
    await producer.close();
    await Promise.all(Object.values(queues).map((queue) => queue.close()));
    await redis.quit();
    await deletePrefix(prefix);
  });

  const waiting = (queue: string) => queues[queue]!.getWaitingCount();

  it(`POST /query: ${CAP} accepted, then 429 with Retry-After and a JSON body, and nothing more enqueued`, async () => {
    for (let index = 0; index < CAP; index++) {
      expect((await app.inject({ method: 'POST', url: '/query', payload: QUERY })).statusCode).toBe(202);
    }
    for (let index = 0; index < 5; index++) {
      const refused = await app.inject({ method: 'POST', url: '/query', payload: QUERY });
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['content-type']).toMatch(/application\/json/);
      expect(refused.json()).toEqual({
        error: `queue rag-query is full: ${CAP} jobs waiting, the cap is ${CAP} (RAGSCOPE_MAX_WAITING); nothing was enqueued`,
        hint: expect.stringMatching(/^retry in \d+ s/),
        retry_after_seconds: Number(refused.headers['retry-after']),
      });
    }
    expect(await waiting(QUEUES.ragQuery)).toBe(CAP);
  });

  it('POST /memory/leak-check: the same cap on its own queue', async () => {
    for (let index = 0; index < CAP; index++) {
      expect((await app.inject({ method: 'POST', url: '/memory/leak-check', payload: { iterations: 5 } })).statusCode).toBe(202);
    }
    const refused = await app.inject({ method: 'POST', url: '/memory/leak-check', payload: { iterations: 5 } });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatch(/^queue leak-check is full: 10 jobs waiting/);
    expect(await waiting(QUEUES.leakCheck)).toBe(CAP);
  });

  it('the producer API throws a retryable QueueFullError and enqueues nothing', async () => {
    const refusal = await producer.enqueueQuery({ query: 'one more', userId: 'api' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(QueueFullError);
    expect(refusal).toMatchObject({ retryable: true, retryAfterSeconds: expect.any(Number), queue: 'rag-query', waiting: CAP, maxWaiting: CAP });
    expect(await waiting(QUEUES.ragQuery)).toBe(CAP);
  });

  it('`ragscope enqueue query` exits 75 (try again) with a one-line reason and hint, no stack', async () => {
    const run = await runCli(['enqueue', 'query', 'one more', '--user-id', 'cli'], env);
    expect(run.code).toBe(75);
    expect(run.stderr).toMatch(/^error: queue rag-query is full: 10 jobs waiting, the cap is 10 \(RAGSCOPE_MAX_WAITING\); nothing was enqueued\nhint: retry in \d+ s/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
    expect(await waiting(QUEUES.ragQuery)).toBe(CAP);
  });

  it('accepts again as soon as one job leaves the waiting list', async () => {
    const [oldest] = await queues[QUEUES.ragQuery]!.getWaiting(0, 0);
    await oldest!.remove();
    expect((await app.inject({ method: 'POST', url: '/query', payload: QUERY })).statusCode).toBe(202);
    expect((await app.inject({ method: 'POST', url: '/query', payload: QUERY })).statusCode).toBe(429);
  });
});

describe('rate limiting: RAGSCOPE_RATE_LIMIT_MAX per client', () => {
  const prefix = uniquePrefix('rate-limit');
  const LIMIT = 5;
  const config: RagscopeConfig = loadConfig({
    REDIS_URL,
    RAGSCOPE_QUEUE_PREFIX: prefix,
    DD_TRACE_ENABLED: 'false',
    RAGSCOPE_API_TOKEN: TOKEN,
    RAGSCOPE_RATE_LIMIT_MAX: String(LIMIT),
    RAGSCOPE_RATE_LIMIT_WINDOW_SECONDS: '600',
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const producer = new RagscopeProducer(config);
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildServer({
      config,
      producer,
      heapStore: HeapSeriesStore.fromConfig(redis, config),
      logger: pino({ level: 'silent' }),
      healthChecks: [],
    });
  });

  afterAll(async () => {
    await app?.close();
    await producer.close();
    await redis.quit();
    await deletePrefix(prefix);
  });

  it(`the token's ${LIMIT} requests pass, the next is 429 with Retry-After and the API's JSON error`, async () => {
    const urls = ['/jobs/1', '/jobs/2?queue=leak-check', '/memory/stats', '/jobs/3', '/jobs/4'];
    for (const url of urls) expect((await app.inject({ method: 'GET', url, headers: bearer })).statusCode, url).toBeLessThan(429);
    const limited = await app.inject({ method: 'POST', url: '/query', payload: QUERY, headers: bearer });
    expect(limited.statusCode).toBe(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(limited.json()).toEqual({
      error: `rate limit exceeded: more than ${LIMIT} requests in 600 s from this client (RAGSCOPE_RATE_LIMIT_MAX)`,
      hint: `retry in ${retryAfter} s`,
      retry_after_seconds: retryAfter,
    });
    // Refused before it reached the queue.
    expect(await new Queue(QUEUES.ragQuery, { connection: redis, prefix }).getWaitingCount()).toBe(0);
  });

  it('counts the token the same from any address, and requests without it by IP', async () => {
    const elsewhere = await app.inject({ method: 'GET', url: '/jobs/1', headers: bearer, remoteAddress: '10.9.8.7' });
    expect(elsewhere.statusCode).toBe(429);
    // Same address as the limited token, no token: its own budget (then 401 for the missing token).
    expect((await app.inject({ method: 'GET', url: '/jobs/1' })).statusCode).toBe(401);
  });

  it('limits a flood of made-up tokens by IP: they never start fresh budgets', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < LIMIT + 3; index++) {
      const guess = { authorization: `Bearer guess-${index}-000000000000000` };
      statuses.push((await app.inject({ method: 'GET', url: '/jobs/1', headers: guess, remoteAddress: '10.0.0.66' })).statusCode);
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429, 429]);
  });

  it('never limits /health, /metrics or Bull Board', async () => {
    for (let index = 0; index < LIMIT * 2; index++) {
      for (const url of ['/health', '/metrics', '/admin/queues/api/queues']) {
        expect((await app.inject({ method: 'GET', url })).statusCode, url).not.toBe(429);
      }
    }
  });
});
