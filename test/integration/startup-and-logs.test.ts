import { spawn, type ChildProcess } from 'node:child_process';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, waitFor } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

describe('start-up checks and log hygiene', () => {
  const prefix = uniquePrefix('logs');
  const privateRedis: ChildProcess[] = [];

  afterAll(async () => {
    for (const server of privateRedis) server.kill('SIGTERM');
    await deletePrefix(prefix);
  });

  it('warns loudly when Redis may evict queue keys', async () => {
    const port = await freePort();
    // A throwaway redis-server of the test's own, configured the way queues must not be.
    privateRedis.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' }));
    const url = `redis://127.0.0.1:${port}`;
    await waitFor(async () => {
      const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      const ok = await probe.connect().then(() => probe.ping(), () => undefined);
      probe.disconnect();
      return ok ? true : undefined;
    }, 10_000, 'the private redis-server');
    const worker = await startWorkerProcess({ REDIS_URL: url, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' });
    await worker.stop();
    expect(worker.output()).toMatch(/Redis maxmemory-policy is allkeys-lru: .* use noeviction/);
  });

  it('refuses to start a worker with invalid configuration, naming the variable', async () => {
    const run = await runCli(['worker'], { RAGSCOPE_WORKER_CONCURRENCY: 'lots' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/RAGSCOPE_WORKER_CONCURRENCY="lots": expected a whole number/);
  });

  it.each([
    ['keeps query text and user ids out of logs by default', {}, false],
    ['logs them with RAGSCOPE_LOG_QUERIES=1', { RAGSCOPE_LOG_QUERIES: '1' }, true],
  ])('%s', async (_label, extraEnv, expectLogged) => {
    const queuePrefix = `${prefix}-${expectLogged ? 'on' : 'off'}`;
    const worker = await startWorkerProcess({ REDIS_URL, RAGSCOPE_QUEUE_PREFIX: queuePrefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_LOG_LEVEL: 'debug', ...extraEnv });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('rag-query', { connection, prefix: queuePrefix });
    const events = new QueueEvents('rag-query', { connection: connection.duplicate(), prefix: queuePrefix });
    try {
      await events.waitUntilReady();
      const secretQuery = 'what is the retention period for patient zebra-7731 records';
      await (await queue.add('query', { query: secretQuery, userId: 'user-zebra-42' })).waitUntilFinished(events, 30_000);
      await (await queue.add('query', { query: '', userId: 'user-zebra-42' })).waitUntilFinished(events, 30_000).catch(() => undefined);
      await worker.stop();
      expect(worker.output()).toContain('rag-query job started');
      expect(worker.output().includes('zebra-7731'), 'query text in logs').toBe(expectLogged);
      expect(worker.output().includes('user-zebra-42'), 'user id in logs').toBe(expectLogged);
    } finally {
      await worker.stop();
      await events.close();
      await queue.close();
      await connection.quit();
      await deletePrefix(queuePrefix);
    }
  });
});
