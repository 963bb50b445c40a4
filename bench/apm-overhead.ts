/**
 * APM overhead: rag-query throughput of a worker with ragscope's production defaults (tracing on,
 * 10% trace sampling, 1% per-job CPU profiling) against the same worker with tracing off, measured
 * side by side: both workers run at once on their own queues and the batches alternate, so machine
 * noise hits both alike. Prints jobs/s per round and the ratio of the medians (goal ≥ 0.98).
 *
 *   npm run build && node --import tsx bench/apm-overhead.ts [--rounds 6] [--jobs 200]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { median, numberArgument } from './bench-utils';
import { startLocalIntake } from '../src/telemetry/intake/intake-server';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLI = path.join(__dirname, '..', 'dist/src/cli/main.js');
const ROUNDS = numberArgument('rounds', 6);
const JOBS = numberArgument('jobs', 200);

interface Mode {
  label: string;
  env: Record<string, string>;
  prefix: string;
  worker?: ChildProcess;
  queue?: Queue;
  events?: QueueEvents;
  rates: number[];
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--concurrency', '2'], {
    env: { ...process.env, REDIS_URL, RAGSCOPE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}: ${output}`)));
    // Ready = it consumed a probe job; simpler than parsing logs at warn level.
    setTimeout(() => resolve(child), 3000);
  });
}


async function runBatch(mode: Mode, round: number): Promise<number> {
  const jobs = await mode.queue!.addBulk(
    Array.from({ length: JOBS }, (_, index) => ({
      name: 'query',
      data: { query: `redis eviction policy and GDPR retention ${round}-${index}`, userId: `bench-${index % 20}` },
    })),
  );
  const startedAt = performance.now();
  await Promise.all(jobs.map((job) => job.waitUntilFinished(mode.events!, 120_000)));
  return JOBS / ((performance.now() - startedAt) / 1000);
}

async function main(): Promise<void> {
  const intake = await startLocalIntake({ port: 0 });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const stamp = Date.now();
  const modes: Mode[] = [
    { label: 'tracing off', env: { DD_TRACE_ENABLED: 'false' }, prefix: `bench-off-${stamp}`, rates: [] },
    { label: 'ragscope defaults', env: { DD_TRACE_AGENT_URL: intake.url }, prefix: `bench-on-${stamp}`, rates: [] },
  ];
  try {
    for (const mode of modes) {
      mode.worker = await startWorker({ ...mode.env, RAGSCOPE_QUEUE_PREFIX: mode.prefix });
      mode.queue = new Queue('rag-query', { connection, prefix: mode.prefix });
      mode.queue.setMaxListeners(JOBS + 10);
      mode.events = new QueueEvents('rag-query', { connection: connection.duplicate(), prefix: mode.prefix });
      await mode.events.waitUntilReady();
      await runBatch(mode, -1); // warm-up: JIT, PGlite caches, connections
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) mode.rates.push(await runBatch(mode, round));
      console.log(`round ${round + 1}: ${modes.map((mode) => `${mode.label} ${mode.rates.at(-1)!.toFixed(1)} jobs/s`).join(', ')}`);
    }
    const [off, on] = modes.map((mode) => median(mode.rates)) as [number, number];
    console.log(`\nmedian: tracing off ${off.toFixed(1)} jobs/s, ragscope defaults ${on.toFixed(1)} jobs/s`);
    console.log(`throughput ratio (defaults / off): ${(on / off).toFixed(3)}  (goal ≥ 0.98; ${JOBS} jobs × ${ROUNDS} rounds, concurrency 2)`);
    console.log(`spans received by the intake: ${intake.store.allSpans().length}`);
  } finally {
    for (const mode of modes) {
      mode.worker?.kill('SIGTERM');
      await mode.events?.close();
      await mode.queue?.obliterate({ force: true }).catch(() => undefined);
      await mode.queue?.close();
    }
    await connection.quit();
    await intake.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
