import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { RagscopeProducer } from '../../src/queue/producer';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
import { freePort, uniquePrefix } from '../helpers/env';
import { startLongRunning, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { PrivateRedis } from '../helpers/redis';

describe('Redis restart', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragscope-redis-'));
  const prefix = uniquePrefix('redis-restart');
  let redis: PrivateRedis;
  const processes: WorkerProcess[] = [];
  let producer: RagscopeProducer | undefined;

  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await producer?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps queued jobs; workers, the scheduler and a long-lived producer reconnect by themselves', async () => {
    redis = new PrivateRedis(await freePort(), dir);
    await redis.start();
    const env = { REDIS_URL: redis.url, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS: '500', RAGSCOPE_HEAP_SAMPLE_FORCE_GC: '1' };
    const config = loadConfig(env);
    producer = new RagscopeProducer(config);

    // Queued while no worker runs, then Redis restarts: AOF must bring them back.
    const queued = await Promise.all(Array.from({ length: 20 }, (_, index) => producer!.enqueueQuery({ query: `redis persistence ${index}`, userId: 'restart' })));
    await redis.stop();
    await redis.start();

    processes.push(await startWorkerProcess({ ...env, RAGSCOPE_WORKER_ID: 'restart-worker' }));
    processes.push(await startLongRunning(['scheduler'], env, '"heap scheduler ready"'));
    for (const job of queued) {
      const result = await producer.waitForQueryResult(job.jobId, 30_000);
      expect(result.sources.length).toBeGreaterThan(0);
    }

    // Now restart Redis under running processes.
    const check = new Redis(redis.url, { maxRetriesPerRequest: null });
    check.on('error', () => undefined);
    const store = new HeapSeriesStore(check, prefix, { maxSamples: 168, sampleIntervalMs: 500 });
    await waitFor(async () => ((await store.series('restart-worker')).length >= 2 ? true : undefined), 15_000, 'heap samples before the restart');
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await redis.start();

    // The same producer object enqueues again, and the reconnected worker answers.
    const after = await waitFor(
      () => producer!.enqueueQuery({ query: 'after the restart', userId: 'restart' }).catch(() => undefined),
      20_000,
      'the producer to reconnect',
    );
    const result = await producer.waitForQueryResult(after.jobId, 30_000);
    expect(result.sources.length).toBeGreaterThan(0);
    // The scheduler ticks again and the worker samples again.
    const samplesBefore = (await store.series('restart-worker')).length;
    await waitFor(async () => ((await store.series('restart-worker')).length >= samplesBefore + 2 ? true : undefined), 20_000, 'heap samples after the restart');
    for (const process of processes) expect(process.child.exitCode, process.output().slice(-500)).toBeNull();
    const queue = new Queue('rag-query', { connection: check, prefix });
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 21, failed: 0 });
    await queue.close();
    await check.quit();
  }, 120_000);
});
