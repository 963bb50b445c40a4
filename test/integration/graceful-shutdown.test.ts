import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { startWorkerProcess, waitFor } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

describe('worker shutdown on SIGTERM', () => {
  const prefix = uniquePrefix('shutdown');
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('rag-query', { connection, prefix });

  afterAll(async () => {
    await queue.close();
    await connection.quit();
    await deletePrefix(prefix);
  });

  it('finishes or returns every active job, then exits 0', async () => {
    const worker = await startWorkerProcess(
      { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' },
      ['--concurrency', '4'],
    );
    const jobs = await queue.addBulk(
      Array.from({ length: 60 }, (_, index) => ({
        name: 'query',
        data: { query: `redis queue eviction policy and stalled jobs ${index}`, userId: 'shutdown', plantBottleneck: true },
      })),
    );
    await waitFor(async () => ((await queue.getCompletedCount()) >= 3 ? true : undefined), 30_000, 'the first completions');
    const exitCode = await worker.stop();
    expect(exitCode).toBe(0);
    expect(worker.output()).toContain('shutting down: finishing active jobs');
    expect(worker.output()).toContain('worker stopped');

    const counts = await queue.getJobCounts('active', 'completed', 'waiting', 'failed');
    expect(counts.active).toBe(0);
    expect(counts.failed).toBe(0);
    expect((counts.completed ?? 0) + (counts.waiting ?? 0)).toBe(jobs.length);
    expect(counts.completed).toBeGreaterThan(0);
  });
});
