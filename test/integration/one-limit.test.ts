import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/config';
import { LEAK_CHECK_LIMITS } from '../../src/contracts/leak-check';
import { QUEUES, type QueueName } from '../../src/contracts/queues';
import { RAG_QUERY_LIMITS } from '../../src/contracts/rag-query';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
import { RagscopeProducer } from '../../src/queue/producer';
import { buildServer } from '../../src/server/app';
import { createMetrics } from '../../src/telemetry/metrics';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

interface LimitCase {
  label: string;
  limit: number;
  http: { url: string; payload: Record<string, unknown> };
  cli: string[];
  job: { queue: QueueName; data: Record<string, unknown> };
}

/** One past each limit, sent the three ways a job can arrive. */
const CASES: LimitCase[] = [
  {
    label: 'topK max',
    limit: RAG_QUERY_LIMITS.topK.max,
    http: { url: '/query', payload: { query: 'q', user_id: 'u', top_k: RAG_QUERY_LIMITS.topK.max + 1 } },
    cli: ['enqueue', 'query', 'q', '-u', 'u', '--top-k', String(RAG_QUERY_LIMITS.topK.max + 1)],
    job: { queue: QUEUES.ragQuery, data: { query: 'q', userId: 'u', topK: RAG_QUERY_LIMITS.topK.max + 1 } },
  },
  {
    label: 'query length',
    limit: RAG_QUERY_LIMITS.queryLength,
    http: { url: '/query', payload: { query: 'x'.repeat(RAG_QUERY_LIMITS.queryLength + 1), user_id: 'u' } },
    cli: ['enqueue', 'query', 'x'.repeat(RAG_QUERY_LIMITS.queryLength + 1), '-u', 'u'],
    job: { queue: QUEUES.ragQuery, data: { query: 'x'.repeat(RAG_QUERY_LIMITS.queryLength + 1), userId: 'u' } },
  },
  {
    label: 'user id length',
    limit: RAG_QUERY_LIMITS.userIdLength,
    http: { url: '/query', payload: { query: 'q', user_id: 'u'.repeat(RAG_QUERY_LIMITS.userIdLength + 1) } },
    cli: ['enqueue', 'query', 'q', '-u', 'u'.repeat(RAG_QUERY_LIMITS.userIdLength + 1)],
    job: { queue: QUEUES.ragQuery, data: { query: 'q', userId: 'u'.repeat(RAG_QUERY_LIMITS.userIdLength + 1) } },
  },
  {
    label: 'leak-check iterations max',
    limit: LEAK_CHECK_LIMITS.iterations.max,
    http: { url: '/memory/leak-check', payload: { iterations: LEAK_CHECK_LIMITS.iterations.max + 1 } },
    cli: ['enqueue', 'leak-check', '--iterations', String(LEAK_CHECK_LIMITS.iterations.max + 1)],
    job: { queue: QUEUES.leakCheck, data: { iterations: LEAK_CHECK_LIMITS.iterations.max + 1 } },
  },
];

/**
 * A limit is written once, in the contract: the HTTP API's 400, the CLI's error and a worker's
 * rejection of a foreign job all quote the same number, and nothing changes if the constant does.
 */
describe('one limit, three edges', () => {
  const prefix = uniquePrefix('one-limit');
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' };
  const config = loadConfig(env);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const producer = new RagscopeProducer(config);
  let app: FastifyInstance;
  let worker: WorkerProcess;

  beforeAll(async () => {
    app = await buildServer({
      config,
      producer,
      heapStore: HeapSeriesStore.fromConfig(redis, config),
      logger: pino({ level: 'silent' }),
      healthChecks: [],
      metrics: createMetrics(),
    });
    worker = await startWorkerProcess(env);
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await producer.close();
    await redis.quit();
    await deletePrefix(prefix);
  });

  async function workerRejection(queueName: QueueName, data: Record<string, unknown>): Promise<string> {
    const queue = new Queue(queueName, { connection: redis, prefix });
    const events = new QueueEvents(queueName, { connection: redis.duplicate(), prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add('foreign', data);
      return await job.waitUntilFinished(events, 30_000).then(
        () => 'completed',
        (error: Error) => error.message,
      );
    } finally {
      await events.close();
      await queue.close();
    }
  }

  it.each(CASES)('$label: HTTP 400, CLI error and worker rejection all quote $limit', async ({ limit, http, cli, job }) => {
    const quotesLimit = new RegExp(`\\b${limit}\\b`);

    const response = await app.inject({ method: 'POST', url: http.url, payload: http.payload });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatch(quotesLimit);

    const run = await runCli(cli, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toMatch(quotesLimit);

    const rejection = await workerRejection(job.queue, job.data);
    expect(rejection).toMatch(/^invalid .* job data: /);
    expect(rejection).toMatch(quotesLimit);
  });
});
