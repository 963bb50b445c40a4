/**
 * Queue overhead: ragscope's worker path (validation, trace context and sampling, profiling policy,
 * exclusive gate, slow-job registry) around a no-op pipeline, against a plain BullMQ worker with a
 * no-op processor: same Redis, same concurrency, batches alternating in one run. Then end-to-end
 * latency (enqueue to finish) of real rag-query jobs at 1, 2 and 4 worker processes.
 *
 *   npm run build && node --import tsx bench/queue-throughput.ts [--rounds 6] [--jobs 2000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Queue, QueueEvents, Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { median, numberArgument, percentile } from './stats';
import pino from 'pino';
import { loadConfig } from '../src/config/config';
import { QUEUES } from '../src/contracts/queues';
import { createWorkerRuntime } from '../src/worker/runtime';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLI = path.join(__dirname, '..', 'dist/src/cli/main.js');
const ROUNDS = numberArgument('rounds', 6);
const JOBS = numberArgument('jobs', 2000);
const CONCURRENCY = 8;
const LATENCY_JOBS = numberArgument('latency-jobs', 300);


async function throughput(connection: Redis, prefix: string, processor: Processor, round: number): Promise<number> {
  const queue = new Queue('rag-query', { connection, prefix });
  const data = Array.from({ length: JOBS }, (_, index) => ({
    name: 'query',
    data: { query: `noop ${round}-${index}`, userId: 'bench' },
    opts: { removeOnComplete: true, removeOnFail: true },
  }));
  await queue.addBulk(data);
  const startedAt = performance.now();
  let done = 0;
  await new Promise<void>((resolve) => {
    const worker = new Worker('rag-query', processor, { connection: connection.duplicate({ maxRetriesPerRequest: null }), prefix, concurrency: CONCURRENCY });
    worker.on('completed', () => {
      if (++done === JOBS) void worker.close().then(() => resolve());
    });
    worker.on('failed', (_job, error) => console.error('bench job failed:', error.message));
  });
  const jobsPerSecond = JOBS / ((performance.now() - startedAt) / 1000);
  await queue.obliterate({ force: true });
  await queue.close();
  return jobsPerSecond;
}

function startWorkerProcess(prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--concurrency', '2'], {
    env: { ...process.env, REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('"worker ready"')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}: ${output}`)));
  });
}

async function latency(connection: Redis, processes: number): Promise<{ p50: number; p95: number; jobsPerSecond: number }> {
  const prefix = `bench-latency-${processes}-${Date.now()}`;
  const workers = await Promise.all(Array.from({ length: processes }, () => startWorkerProcess(prefix)));
  const queue = new Queue('rag-query', { connection, prefix });
  queue.setMaxListeners(LATENCY_JOBS + 10);
  const events = new QueueEvents('rag-query', { connection: connection.duplicate({ maxRetriesPerRequest: null }), prefix });
  await events.waitUntilReady();
  try {
    const startedAt = performance.now();
    const jobs = await queue.addBulk(
      Array.from({ length: LATENCY_JOBS }, (_, index) => ({ name: 'query', data: { query: `redis eviction policy and GDPR retention ${index}`, userId: 'bench' } })),
    );
    await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 120_000)));
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    const latencies = await Promise.all(jobs.map(async (job) => {
      const stored = await queue.getJob(job.id!);
      return stored!.finishedOn! - stored!.timestamp;
    }));
    return { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), jobsPerSecond: LATENCY_JOBS / elapsedSeconds };
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

async function main(): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const config = loadConfig({ ...process.env, DD_TRACE_ENABLED: 'false' });
  const stamp = Date.now();
  // The worker's own wiring around a pipeline that does nothing, consuming no queue by itself:
  // each round drives its rag-query processor through a plain BullMQ Worker, like the baseline.
  const runtime = await createWorkerRuntime(
    { ...config, queuePrefix: `bench-ragscope-${stamp}`, profiling: { ...config.profiling, capturePct: 0 } },
    pino({ level: 'silent' }),
    { queues: [], openPipeline: async () => ({ name: 'no-op', run: async () => ({ answer: '', sources: [], stages: [] }), close: async () => undefined }) },
  );
  const ragscopeProcessor = runtime.processors[QUEUES.ragQuery];
  const plainProcessor: Processor = async () => ({});
  const rates = { ragscope: [] as number[], plain: [] as number[] };
  try {
    await throughput(connection, `bench-warm-${stamp}`, ragscopeProcessor, -1);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['ragscope', 'plain'] as const) : (['plain', 'ragscope'] as const);
      for (const mode of order) {
        const prefix = `bench-${mode}-${stamp}-${round}`;
        rates[mode].push(await throughput(connection, prefix, mode === 'ragscope' ? (ragscopeProcessor as Processor) : plainProcessor, round));
      }
      console.log(`round ${round + 1}: ragscope ${rates.ragscope.at(-1)!.toFixed(0)} jobs/s, plain BullMQ ${rates.plain.at(-1)!.toFixed(0)} jobs/s`);
    }
    const ratio = median(rates.ragscope) / median(rates.plain);
    console.log(`\nno-op throughput, concurrency ${CONCURRENCY}, ${JOBS} jobs × ${ROUNDS} rounds: ragscope ${median(rates.ragscope).toFixed(0)} jobs/s, plain BullMQ ${median(rates.plain).toFixed(0)} jobs/s, ratio ${ratio.toFixed(3)} (goal ≥ 0.90)`);
    console.log(`\nend-to-end latency of ${LATENCY_JOBS} real rag-query jobs enqueued at once (worker concurrency 2):`);
    for (const processes of [1, 2, 4]) {
      const measured = await latency(connection, processes);
      console.log(`  ${processes} worker process${processes > 1 ? 'es' : ''}: p50 ${measured.p50} ms, p95 ${measured.p95} ms, ${measured.jobsPerSecond.toFixed(0)} jobs/s`);
    }
  } finally {
    await runtime.close();
    await connection.quit();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
