/**
 * Queue overhead: the worker exactly as `ragscope worker --pipeline` builds it (preparePipeline and
 * createWorkerRuntime: contract check, consumer span, trace sampling, profiling decision, exclusive
 * gate, slow-job registry, the definePipeline runner with its result check, job metrics listeners)
 * around a pipeline that does nothing, against a plain BullMQ Worker whose processor calls the same
 * pipeline function and returns what it returns. Same process, same Redis, same concurrency, the same warm-up for both, batches
 * alternating; tracing on to a local intake at the default sampling, as in production. Reported: the
 * median of per-round throughput ratios with a 95% bootstrap CI and the per-job overhead in µs (goal:
 * ratio ≥ 0.90). Then end-to-end latency of real rag-query jobs at 1, 2 and 4 worker processes.
 * Exits 0 when the goal holds, 1 when it does not.
 *
 *   npm run build && node --import tsx bench/queue-throughput.ts [--rounds 10] [--jobs 2000] [--latency-jobs 300] [--latency-warmup 100]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { bootstrapMedian, formatEstimate, median, numberArgument, pairedRatio, percentile } from './stats';
import { loadConfig } from '../src/config/config';
import { QUEUES } from '../src/contracts/queues';
import { startLocalIntake } from '../src/telemetry/intake/intake-server';
import { flushTraces, initTracing } from '../src/telemetry/tracing';
import { definePipeline } from '../src/pipeline/define-pipeline';
import { createWorkerRuntime } from '../src/worker/runtime';
import { preparePipeline } from '../src/worker/start-worker';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLI = path.join(__dirname, '..', 'dist/src/cli/main.js');
const ROUNDS = numberArgument('rounds', 10);
const JOBS = numberArgument('jobs', 2000);
const CONCURRENCY = 8;
const LATENCY_JOBS = numberArgument('latency-jobs', 300);
/** Per worker process, before the measured jobs. */
const LATENCY_WARMUP_JOBS = numberArgument('latency-warmup', 100);
const GOAL_RATIO = 0.9;

/** The work both sides do per job: none, so what is measured is what each side adds around it. */
const noOpPipeline = definePipeline({ name: 'no-op', run: () => ({ answer: '', sources: [] }) });

/** A consumer that is already running on `prefix`; a batch is timed from enqueue to its last completion. */
interface Side {
  label: string;
  prefix: string;
  worker: Worker;
  rates: number[];
}

async function runBatch(connection: Redis, side: Side, round: number): Promise<number> {
  const queue = new Queue(QUEUES.ragQuery, { connection, prefix: side.prefix });
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    const onDone = (): void => {
      if (++done === JOBS) {
        side.worker.off('completed', onDone);
        side.worker.off('failed', onDone);
        resolve();
      }
    };
    side.worker.on('completed', onDone);
    side.worker.on('failed', onDone);
  });
  const startedAt = performance.now();
  await queue.addBulk(
    Array.from({ length: JOBS }, (_, index) => ({
      name: 'query',
      data: { query: `noop ${round}-${index}`, userId: 'bench' },
      opts: { removeOnComplete: true, removeOnFail: true },
    })),
  );
  await finished;
  const jobsPerSecond = JOBS / ((performance.now() - startedAt) / 1000);
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
  // waitUntilFinished adds a 'closing' listener per job: the larger of the two batches, plus room.
  queue.setMaxListeners(Math.max(LATENCY_JOBS, LATENCY_WARMUP_JOBS * processes) + 10);
  // BullMQ never closes a connection it was handed: this one is quit below, or the process would not exit.
  const eventsConnection = connection.duplicate({ maxRetriesPerRequest: null });
  const events = new QueueEvents('rag-query', { connection: eventsConnection, prefix });
  await events.waitUntilReady();
  const runAll = async (count: number, label: string) => {
    const jobs = await queue.addBulk(
      Array.from({ length: count }, (_, index) => ({ name: 'query', data: { query: `redis eviction policy and GDPR retention ${label} ${index}`, userId: 'bench' } })),
    );
    await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 120_000)));
    return jobs;
  };
  try {
    // Warm workers, as a fleet that has been running is: their first jobs pay for JIT tiers, the
    // corpus's first queries and PGlite's caches, which a cold start would add to every percentile.
    await runAll(LATENCY_WARMUP_JOBS * processes, 'warm-up');
    const startedAt = performance.now();
    const jobs = await runAll(LATENCY_JOBS, 'measured');
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    const latencies = await Promise.all(jobs.map(async (job) => {
      const stored = await queue.getJob(job.id!);
      return stored!.finishedOn! - stored!.timestamp;
    }));
    return { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), jobsPerSecond: LATENCY_JOBS / elapsedSeconds };
  } finally {
    await Promise.all(
      workers.map((worker) => {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGTERM');
        return exited;
      }),
    );
    await events.close();
    await eventsConnection.quit();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

async function main(): Promise<number> {
  const stamp = Date.now();
  const intake = await startLocalIntake({ port: 0 });
  const config = loadConfig({ ...process.env, REDIS_URL, DD_TRACE_AGENT_URL: intake.url, RAGSCOPE_QUEUE_PREFIX: `bench-ragscope-${stamp}` });
  initTracing(config);
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  // The worker's own wiring, consuming its queue itself, around a pipeline that does nothing.
  // The worker's logger at its default level, writing where nothing is read.
  const logger = pino({ level: config.logLevel }, pino.destination('/dev/null'));
  const runtime = await createWorkerRuntime(config, logger, {
    queues: [QUEUES.ragQuery],
    concurrency: CONCURRENCY,
    openPipeline: await preparePipeline(noOpPipeline, config, logger),
  });
  const plainPrefix = `bench-plain-${stamp}`;
  const plainConnection = connection.duplicate({ maxRetriesPerRequest: null });
  const plain = new Worker(QUEUES.ragQuery, async (job) => noOpPipeline.run(job.data, undefined as never), {
    connection: plainConnection,
    prefix: plainPrefix,
    concurrency: CONCURRENCY,
  });
  const sides: Side[] = [
    { label: 'ragscope', prefix: config.queuePrefix, worker: runtime.workers[0]!, rates: [] },
    { label: 'plain BullMQ', prefix: plainPrefix, worker: plain, rates: [] },
  ];
  let code = 0;
  try {
    await plain.waitUntilReady();
    // The same warm-up for both sides: JIT tiers, connections, Redis scripts.
    for (const side of sides) {
      await runBatch(connection, side, -1);
      await runBatch(connection, side, -2);
    }
    process.stdout.write(`queue-throughput: ${ROUNDS} rounds × ${JOBS} no-op jobs per side, concurrency ${CONCURRENCY}, tracing on (sample rate ${config.sampling.baseRate})\n`);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) side.rates.push(await runBatch(connection, side, round));
      process.stdout.write(`round ${String(round + 1).padStart(2)}: ${sides.map((side) => `${side.label} ${side.rates.at(-1)!.toFixed(0)} jobs/s`).join(', ')}\n`);
    }
    const [ragscope, baseline] = sides as [Side, Side];
    const ratio = pairedRatio(ragscope.rates, baseline.rates);
    const overheadMicros = bootstrapMedian(ragscope.rates.map((rate, index) => (1 / rate - 1 / baseline.rates[index]!) * 1e6));
    process.stdout.write(
      `\nmedian: ragscope ${median(ragscope.rates).toFixed(0)} jobs/s, plain BullMQ ${median(baseline.rates).toFixed(0)} jobs/s\n` +
        `throughput ratio (ragscope / plain): ${formatEstimate(ratio)}\n` +
        `overhead per job: ${formatEstimate(overheadMicros, 1)} µs of wall time per job at concurrency ${CONCURRENCY}\n` +
        `spans received by the intake: ${intake.store.allSpans().length}\n` +
        `goal: ratio ≥ ${GOAL_RATIO}: ${ratio.value >= GOAL_RATIO ? 'PASS' : 'FAIL'}\n`,
    );
    if (ratio.value < GOAL_RATIO) code = 1;
    process.stdout.write(`\nend-to-end latency of ${LATENCY_JOBS} real rag-query jobs enqueued at once, after ${LATENCY_WARMUP_JOBS} per process to warm up (worker concurrency 2, tracing off):\n`);
    for (const processes of [1, 2, 4]) {
      const measured = await latency(connection, processes);
      process.stdout.write(`  ${processes} worker process${processes > 1 ? 'es' : ''}: p50 ${measured.p50} ms, p95 ${measured.p95} ms, ${measured.jobsPerSecond.toFixed(0)} jobs/s\n`);
    }
  } finally {
    await runtime.close();
    await plain.close();
    await plainConnection.quit();
    for (const side of sides) {
      const queue = new Queue(QUEUES.ragQuery, { connection, prefix: side.prefix });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await connection.quit();
    await flushTraces();
    await intake.close();
  }
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`queue-throughput failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
