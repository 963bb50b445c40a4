/**
 * Records real heap series for bench/leak-detector to replay: a real worker (the runtime
 * `ragscope worker` builds, on real Redis, running the sample pipeline) processes rag-query jobs,
 * and after every `--jobs-per-sample` jobs the post-GC used heap is read (forced major GC). The
 * series is time-compressed: each sample is stamped one hour after the previous one, so 100 jobs
 * stand for an hour of a production worker. Two runs: a healthy worker, and the same worker with
 * the planted leak (`retainInLeakyCache`) holding on to every result.
 * Writes bench/data/heap-series-{healthy,leaking}.csv in the `timestamp,heapUsedMb` form
 * `ragscope trend` reads.
 *
 *   npm run build && node --import tsx bench/record-heap-series.ts [--jobs 4000] [--jobs-per-sample 100]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { numberArgument } from './stats';
import { loadConfig } from '../src/config/config';
import { QUEUES } from '../src/contracts/queues';
import { PostGcHeapReader } from '../src/memory/post-gc-heap';
import { retainInLeakyCache } from '../src/pipeline/leak-plant';
import { startWorkers } from '../workers';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOBS = numberArgument('jobs', 4000);
const JOBS_PER_SAMPLE = numberArgument('jobs-per-sample', 100);
const HOUR_MS = 3_600_000;
const DATA_DIR = path.join(__dirname, 'data');

async function record(leaking: boolean): Promise<string> {
  const prefix = `bench-heap-${leaking ? 'leaking' : 'healthy'}-${Date.now()}`;
  const config = loadConfig({ ...process.env, REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0' });
  const runtime = await startWorkers(config, pino({ level: 'silent' }), { queues: [QUEUES.ragQuery], concurrency: 2 });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUES.ragQuery, { connection, prefix });
  const reader = new PostGcHeapReader({ forceGc: true });
  const worker = runtime.workers[0]!;
  const lines = ['timestamp,heapUsedMb'];
  const startedAt = Date.UTC(2026, 0, 1);
  try {
    for (let sample = 0; sample * JOBS_PER_SAMPLE < JOBS; sample++) {
      let done = 0;
      const batchDone = new Promise<void>((resolve) => {
        const onCompleted = (job: { id?: string; returnvalue: unknown }): void => {
          if (leaking) {
            const result = job.returnvalue as Parameters<typeof retainInLeakyCache>[1];
            retainInLeakyCache(`${job.id}`, result, [result.answer, ...result.sources.map((source) => source.title ?? source.id)]);
          }
          if (++done === JOBS_PER_SAMPLE) {
            worker.off('completed', onCompleted);
            resolve();
          }
        };
        worker.on('completed', onCompleted);
      });
      await queue.addBulk(
        Array.from({ length: JOBS_PER_SAMPLE }, (_, index) => ({
          name: 'query',
          data: { query: `how should a job queue handle redis eviction and retries ${sample}-${index}`, userId: `heap-${index % 10}` },
          opts: { removeOnComplete: true },
        })),
      );
      await batchDone;
      const { heapUsedMb } = reader.read();
      lines.push(`${new Date(startedAt + sample * HOUR_MS).toISOString()},${heapUsedMb.toFixed(3)}`);
      process.stdout.write(`${leaking ? 'leaking' : 'healthy'} sample ${sample + 1}: ${heapUsedMb.toFixed(1)} MB after ${(sample + 1) * JOBS_PER_SAMPLE} jobs\n`);
    }
  } finally {
    reader.close();
    await runtime.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await connection.quit();
  }
  const file = path.join(DATA_DIR, `heap-series-${leaking ? 'leaking' : 'healthy'}.csv`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  // Healthy first: the planted leak's cache is module state and would stay in the heap afterwards.
  for (const leaking of [false, true]) process.stdout.write(`wrote ${await record(leaking)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`record-heap-series failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
