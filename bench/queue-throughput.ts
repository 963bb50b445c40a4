/**
 * Queue overhead: `ragscope worker` itself (the CLI from dist/, `--pipeline` a module that does
 * nothing, concurrency 8, tracing on to a local intake at the default sampling, per-job profiling at
 * its defaults) against a plain BullMQ worker (bench/plain-bullmq-worker.cjs) whose processor calls
 * the same module's run and returns its result. Each is a process of its own, as in production:
 * neither pays for the other's instrumentation, and ragscope's overhead cap weighs its profiles
 * against its own CPU time, not against a process it shares with the baseline. Two more ragscope
 * workers split the cost: per-job profiling off (capture 0), and tracing off as well.
 *
 * One batch per worker per round, in rotating order, never two at once; a batch is timed from the
 * enqueue to the moment its queue holds no waiting or active job. Reported: throughput and CPU per
 * job of each worker process (/proc, so Linux only), the median of per-round throughput ratios to
 * plain BullMQ with a 95% bootstrap CI (goal: ≥ 0.90 at defaults), and the per-job overhead in µs
 * of wall time and of CPU. Then end-to-end latency of real rag-query jobs at 1, 2 and 4 worker
 * processes. Exits 0 when the goal holds, 1 when it does not, and stops every worker either way.
 *
 *   npm run build && node --import tsx bench/queue-throughput.ts [--rounds 10] [--jobs 2000] [--latency-jobs 300] [--latency-warmup 100]
 */
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { bootstrapMedian, formatEstimate, median, numberArgument, pairedRatio, percentile } from './stats';
import { CLOCK_TICKS_PER_SECOND, cpuTicksOf } from './proc-cpu';
import { requireBuilt } from './compiled-build';
import { describeProfiles, readWorkerFigures } from './worker-metrics';
import { freePort } from '../test/helpers/env';
import { REPO_ROOT, startProcess, startWorkerProcess, type WorkerProcess } from '../test/helpers/processes';
import { onWorkerCpuCommand, pinWorkersToOneCpu, unpinBench, type Pinning } from './cpu-pinning';

const { startLocalIntake } = requireBuilt<typeof import('../src/telemetry/intake/intake-server')>('telemetry/intake/intake-server');

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NO_OP_PIPELINE = path.join(__dirname, 'no-op-pipeline.cjs');
const PLAIN_WORKER = path.join(__dirname, 'plain-bullmq-worker.cjs');
const ROUNDS = numberArgument('rounds', 10);
const JOBS = numberArgument('jobs', 2000);
const CONCURRENCY = 8;
const LATENCY_JOBS = numberArgument('latency-jobs', 300);
/** Per worker process, before the measured jobs. */
const LATENCY_WARMUP_JOBS = numberArgument('latency-warmup', 100);
const GOAL_RATIO = 0.9;
const ragscopeArgs = ['--pipeline', NO_OP_PIPELINE, '--concurrency', String(CONCURRENCY), '--queues', 'rag-query'];
/** How often a batch's queue is asked whether it is empty: small against a batch of ~0.5 s. */
const POLL_MS = 2;

/** A worker process consuming its own prefix; a batch is timed from enqueue to an empty queue. */
interface Side {
  label: string;
  prefix: string;
  process?: WorkerProcess;
  /** A ragscope worker's own /metrics, read once at the end for what its profiles cost. */
  metricsUrl?: string;
  rates: number[];
  cpuMicrosPerJob: number[];
}

function cpuSeconds(worker: WorkerProcess): number {
  return cpuTicksOf(worker.child.pid) / CLOCK_TICKS_PER_SECOND;
}

async function runBatch(connection: Redis, side: Side, round: number): Promise<{ jobsPerSecond: number; cpuMicrosPerJob: number }> {
  const queue = new Queue('rag-query', { connection, prefix: side.prefix });
  const cpuBefore = cpuSeconds(side.process!);
  const startedAt = performance.now();
  await queue.addBulk(
    Array.from({ length: JOBS }, (_, index) => ({
      name: 'query',
      data: { query: `noop ${round}-${index}`, userId: 'bench' },
      opts: { removeOnComplete: true, removeOnFail: true },
    })),
  );
  // Removed on completion (and on failure), so the batch is done when nothing waits or runs.
  for (;;) {
    const counts = await queue.getJobCounts('wait', 'active', 'prioritized', 'delayed');
    if (Object.values(counts).every((count) => count === 0)) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const jobsPerSecond = JOBS / ((performance.now() - startedAt) / 1000);
  const cpuMicrosPerJob = ((cpuSeconds(side.process!) - cpuBefore) * 1e6) / JOBS;
  await queue.close();
  return { jobsPerSecond, cpuMicrosPerJob };
}

/** Every worker process still running, so an interrupted bench leaves none behind. */
const spawned = new Set<WorkerProcess>();
/** Every queue prefix the bench used, so an interrupted run deletes their jobs as a finished one does. */
const benchPrefixes = new Set<string>();

/** Starts a worker process (test/helpers/processes.ts) and remembers it until it is stopped. */
async function tracked(starting: Promise<WorkerProcess>): Promise<WorkerProcess> {
  const worker = await starting;
  spawned.add(worker);
  return worker;
}

async function stopProcess(worker: WorkerProcess | undefined): Promise<void> {
  if (!worker) return;
  await worker.stop();
  spawned.delete(worker);
}

function startRagscopeWorker(prefix: string, env: Record<string, string>, args: string[], pinning?: Pinning): Promise<WorkerProcess> {
  return tracked(startWorkerProcess({ REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, ...env }, args, { cpu: pinning?.workerCpu }));
}

/** A ragscope worker for the throughput rounds, on the compared workers' CPU, serving /metrics on a port of its own. */
async function startMeasuredRagscopeWorker(side: Side, env: Record<string, string>, pinning: Pinning): Promise<WorkerProcess> {
  const port = await freePort();
  side.metricsUrl = `http://127.0.0.1:${port}/metrics`;
  return startRagscopeWorker(side.prefix, { ...env, RAGSCOPE_METRICS_PORT: String(port) }, ragscopeArgs, pinning);
}

async function latency(connection: Redis, processes: number): Promise<{ p50: number; p95: number; jobsPerSecond: number }> {
  const prefix = `bench-latency-${processes}-${Date.now()}`;
  benchPrefixes.add(prefix);
  const workers = await Promise.all(Array.from({ length: processes }, () => startRagscopeWorker(prefix, { DD_TRACE_ENABLED: 'false' }, ['--concurrency', '2'])));
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
    await Promise.all(workers.map(stopProcess));
    await events.close();
    await eventsConnection.quit();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

async function main(): Promise<number> {
  const stamp = Date.now();
  const intake = await startLocalIntake({ port: 0 });
  // The store keeps the newest 2,000 traces; the count says that tracing ran through every round.
  let spansReceived = 0;
  const store = intake.store;
  const keep = store.add.bind(store);
  store.add = (spans) => {
    spansReceived += spans.length;
    keep(spans);
  };
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const traced = { DD_TRACE_AGENT_URL: intake.url };
  // The compared workers on one CPU: their CPU times are compared, and vCPUs can differ in speed.
  const pinning = pinWorkersToOneCpu();
  const plainCommand = onWorkerCpuCommand(pinning, process.execPath, [PLAIN_WORKER]);
  const kinds: Array<{ label: string; start: (side: Side) => Promise<WorkerProcess> }> = [
    {
      label: 'plain BullMQ',
      start: (side) =>
        tracked(startProcess(plainCommand.command, plainCommand.args, { cwd: REPO_ROOT, env: { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: side.prefix, CONCURRENCY: String(CONCURRENCY) } }, 'ready')),
    },
    { label: 'ragscope defaults', start: (side) => startMeasuredRagscopeWorker(side, traced, pinning) },
    { label: 'no job profiles', start: (side) => startMeasuredRagscopeWorker(side, { ...traced, DD_PROFILING_CAPTURE_PCT: '0' }, pinning) },
    { label: 'no tracing either', start: (side) => startMeasuredRagscopeWorker(side, { DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0' }, pinning) },
  ];
  const sides: Array<Side & { start: (side: Side) => Promise<WorkerProcess> }> = kinds.map((kind, index) => ({
    ...kind,
    prefix: `bench-throughput-${index}-${stamp}`,
    rates: [],
    cpuMicrosPerJob: [],
  }));
  for (const side of sides) benchPrefixes.add(side.prefix);
  let code = 0;
  try {
    for (const side of sides) side.process = await side.start(side);
    // The same warm-up for every worker: JIT tiers, connections, Redis scripts.
    for (const side of sides) {
      await runBatch(connection, side, -1);
      await runBatch(connection, side, -2);
    }
    process.stdout.write(
      `queue-throughput: ${ROUNDS} rounds × ${JOBS} no-op jobs per worker process, concurrency ${CONCURRENCY}, order rotating; ` +
        `ragscope traces to a local intake at the default sampling\n${pinning.description}\n`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      const order = sides.map((_, index) => sides[(index + round) % sides.length]!);
      for (const side of order) {
        const batch = await runBatch(connection, side, round);
        side.rates.push(batch.jobsPerSecond);
        side.cpuMicrosPerJob.push(batch.cpuMicrosPerJob);
      }
      process.stdout.write(
        `round ${String(round + 1).padStart(2)}: ${sides.map((side) => `${side.label} ${side.rates.at(-1)!.toFixed(0)} jobs/s ${side.cpuMicrosPerJob.at(-1)!.toFixed(0)} µs CPU/job`).join(' | ')}\n`,
      );
    }
    const baseline = sides[0]!;
    const defaults = sides[1]!;
    process.stdout.write('\nmedians:\n');
    for (const side of sides) {
      process.stdout.write(`  ${side.label.padEnd(18)} ${median(side.rates).toFixed(0)} jobs/s, ${median(side.cpuMicrosPerJob).toFixed(1)} µs CPU per job\n`);
    }
    process.stdout.write('\nto plain BullMQ (median of per-round figures, 95% bootstrap CI):\n');
    for (const side of sides.slice(1)) {
      const wallMicros = bootstrapMedian(side.rates.map((rate, index) => (1 / rate - 1 / baseline.rates[index]!) * 1e6));
      const cpuMicros = bootstrapMedian(side.cpuMicrosPerJob.map((cpu, index) => cpu - baseline.cpuMicrosPerJob[index]!));
      process.stdout.write(
        `  ${side.label.padEnd(18)} throughput ratio ${formatEstimate(pairedRatio(side.rates, baseline.rates))}; ` +
          `overhead per job ${formatEstimate(wallMicros, 1)} µs of wall time, ${formatEstimate(cpuMicros, 1)} µs of CPU\n`,
      );
    }
    // Over the worker's whole life (start-up and warm-up included), from its own counters.
    const figures = await readWorkerFigures(defaults.metricsUrl!);
    process.stdout.write(
      `per-job profiles of ragscope defaults: ${describeProfiles(figures.profiles)}, ${(figures.profilingCpuSeconds * 1000).toFixed(0)} ms of CPU charged to the cap, ` +
        `${((figures.profilingCpuSeconds / figures.cpuSeconds) * 100).toFixed(1)}% of the worker's ${figures.cpuSeconds.toFixed(2)} s\n`,
    );
    const ratio = pairedRatio(defaults.rates, baseline.rates);
    process.stdout.write(`spans received by the intake: ${spansReceived}\ngoal: ratio at defaults ≥ ${GOAL_RATIO}: ${ratio.value >= GOAL_RATIO ? 'PASS' : 'FAIL'}\n`);
    if (ratio.value < GOAL_RATIO) code = 1;
    process.stdout.write(`\nend-to-end latency of ${LATENCY_JOBS} real rag-query jobs enqueued at once, after ${LATENCY_WARMUP_JOBS} per process to warm up (worker concurrency 2, tracing off):\n`);
    // Fleets of 1–4 processes, compared with nothing across processes: every CPU is theirs (and the bench's).
    unpinBench(pinning);
    for (const processes of [1, 2, 4]) {
      const measured = await latency(connection, processes);
      process.stdout.write(`  ${processes} worker process${processes > 1 ? 'es' : ''}: p50 ${measured.p50} ms, p95 ${measured.p95} ms, ${measured.jobsPerSecond.toFixed(0)} jobs/s\n`);
    }
  } finally {
    await Promise.all(sides.map((side) => stopProcess(side.process)));
    for (const side of sides) {
      const queue = new Queue('rag-query', { connection, prefix: side.prefix });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await connection.quit();
    await intake.close();
  }
  return code;
}

const onSignal = (): void => {
  process.stderr.write('interrupted: stopping the worker processes and deleting the bench queues\n');
  void Promise.all([...spawned].map(stopProcess))
    .then(async () => {
      const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      for (const prefix of benchPrefixes) {
        const queue = new Queue('rag-query', { connection, prefix });
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
      await connection.quit();
    })
    .finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`queue-throughput failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
).finally(() => {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
});
