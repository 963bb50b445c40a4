/**
 * What RAGSCOPE_MAX_WAITING's default rests on: Redis memory per waiting rag-query job (enqueued
 * through the producer, as serve does) and how fast one `ragscope worker` at its default
 * concurrency drains a backlog, on this machine. A cap of C costs about C × bytes-per-job of Redis
 * and holds C / jobs-per-second seconds of work per worker.
 *
 *   npm run build && node --import tsx bench/backpressure-sizing.ts [--jobs 2000]
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/config';
import { RagscopeProducer } from '../src/queue/producer';
import { startWorkerProcess } from '../test/helpers/processes';
import { deletePrefix } from '../test/helpers/redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

async function main(): Promise<void> {
  const jobs = argument('jobs', 2000);
  const prefix = `bench-backpressure-${Date.now()}`;
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0', RAGSCOPE_MAX_WAITING: '0' };
  const producer = new RagscopeProducer(loadConfig(env));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('rag-query', { connection: redis, prefix });
  const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
  try {
    await producer.enqueueQuery({ query: 'warm-up', userId: 'bench', profile: 'never' });
    const before = await usedMemory();
    for (let sent = 0; sent < jobs; sent += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, jobs - sent) }, (_, index) =>
          producer.enqueueQuery({ query: `how should Redis be configured for a job queue? (${sent + index})`, userId: 'bench-user', profile: 'never' }),
        ),
      );
    }
    const bytesPerJob = (await usedMemory() - before) / jobs;
    const worker = await startWorkerProcess(env);
    const startedAt = Date.now();
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'active');
      if ((counts.waiting ?? 0) + (counts.active ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const seconds = (Date.now() - startedAt) / 1000;
    await worker.stop();
    const [load] = (await import('node:os')).loadavg();
    console.log(`${jobs} waiting jobs: ${Math.round(bytesPerJob)} B of Redis each; one worker (concurrency 2) drained them in ${seconds.toFixed(1)} s = ${(jobs / seconds).toFixed(1)} jobs/s (load average ${load!.toFixed(1)})`);
  } finally {
    await producer.close();
    await queue.close();
    await redis.quit();
    await deletePrefix(prefix);
  }
}

void main();
