/**
 * APM overhead: what ragscope costs a worker running real rag-query jobs, in three configurations
 * measured side by side in one run:
 *   off       tracing off (DD_TRACE_ENABLED=false), no per-job profiles, no continuous profiler
 *   defaults  ragscope's production defaults: tracing to an agent (a local intake here), 10% of
 *             traces kept, 1% of jobs CPU-profiled, continuous profiler off
 *   all on    every trace kept, per-job profiling at its default capture, continuous profiler on
 * Each configuration is its own `ragscope worker` process on its own queue. Every round runs one
 * batch per configuration, in a rotating order, one at a time, so they never compete for the CPU.
 * Per batch: throughput (jobs/s) and CPU time per job of the worker process (from its /metrics,
 * process_cpu_seconds_total, i.e. process.cpuUsage()). Reported: the median over rounds of each
 * configuration's ratio to `off` in the same round, with a 95% bootstrap confidence interval; the
 * ratio of totals; and the CPU each configuration adds per job in ms (mean of per-round differences).
 * Goal at defaults: CPU per job within 2% of off (upper bound ≤ 1.02) and throughput ratio lower
 * bound ≥ 0.98. Exits 0 when both hold, 1 when a goal is missed. `--breakdown` adds three workers
 * that take defaults apart: tracing only (capture 0), per-job profiling only (tracing off), and
 * tracing with every trace dropped (sample rate 0, capture 0): dd-trace loaded and every job
 * through its context manager, but no span recorded, so what keeping a tenth of the traces adds
 * is the difference to tracing only.
 *
 * `--job-cpu-ms <ms>` runs every worker on bench/cpu-bound-pipeline.cjs instead of the sample
 * pipeline: four stages around a fixed amount of CPU work, sized in the bench's own process to about
 * that many ms and handed to every worker as the same unit count. What ragscope adds is mostly a
 * fixed cost per job and per profile, so its share depends on the job's size: the sample pipeline's
 * jobs take 3–5 ms of CPU, a RAG job that tokenises, parses and ranks often takes tens.
 *
 * The default trace rate is 10% below 10,000 jobs an hour and 1% above (DESIGN.md). Each worker
 * counts its own queue's jobs: a run of up to 48 rounds of 200 jobs (and 400 of warm-up) stays at or
 * under it, so defaults keep 10% of their traces throughout; the bench says so when a run does not.
 *
 *   npm run build && node --import tsx bench/apm-overhead.ts [--rounds 20] [--jobs 200] [--breakdown] [--job-cpu-ms 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { bootstrapMean, formatEstimate, median, numberArgument, pairedRatio, ratioOfTotals } from './stats';
import { readWorkerFigures } from './worker-metrics';
import { freePort } from '../test/helpers/env';
import { startWorkerProcess, type WorkerProcess } from '../test/helpers/processes';
import { onWorkerCpu, pinWorkersToOneCpu, type Pinning } from './cpu-pinning';
import { startLocalIntake } from '../src/telemetry/intake/intake-server';
import { DEFAULTS } from '../src/config/config';
import type { RagQueryResult } from '../src/contracts/rag-query';
import { unitsForMs } from './cpu-work.cjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = numberArgument('rounds', 20);
const JOBS = numberArgument('jobs', 200);
const BREAKDOWN = process.argv.includes('--breakdown');
/** Job size for the cpu-bound pipeline; undefined runs the sample pipeline. */
const JOB_CPU_MS = process.argv.includes('--job-cpu-ms') ? numberArgument('job-cpu-ms', 0) : undefined;
const CPU_BOUND_PIPELINE = path.join(__dirname, 'cpu-bound-pipeline.cjs');
const CONCURRENCY = 2;
/** Batches each worker runs before the measured rounds; its job count includes them. */
const WARM_UP_BATCHES = 2;
const GOALS = { cpuRatioHigh: 1.02, throughputRatioLow: 0.98 };
/** Above this many jobs an hour the default trace rate drops to 1% (RAGSCOPE_HIGH_VOLUME_JOBS_PER_HOUR). */
const HIGH_VOLUME_JOBS_PER_HOUR = DEFAULTS.sampling.highVolumeJobsPerHour;

interface Mode {
  label: string;
  env: Record<string, string>;
  prefix: string;
  worker?: WorkerProcess;
  metricsUrl?: string;
  queue?: Queue;
  events?: QueueEvents;
  eventsConnection?: Redis;
  throughput: number[];
  cpuMsPerJob: number[];
  /** Per-job profiles over the measured rounds, and what the overhead cap was charged for them. */
  profiles?: { count: number; chargedMs: number };
}

/** Every worker process still running, so an interrupted bench leaves none behind. */
const running = new Set<WorkerProcess>();
/** The bench's queues, so an interrupted run deletes their jobs as a finished one does. */
const openQueues = new Set<Queue>();

/** Starts `ragscope worker` (test/helpers/processes.ts) and remembers it until it has exited. */
async function startWorker(env: Record<string, string>, pinning: Pinning): Promise<WorkerProcess> {
  const worker = await startWorkerProcess({ REDIS_URL, ...env }, ['--concurrency', String(CONCURRENCY)], { cpu: pinning.workerCpu });
  running.add(worker);
  worker.child.once('exit', () => running.delete(worker));
  return worker;
}

/** CPU seconds (user + system) the worker process has used, from its own /metrics. */
async function workerCpuSeconds(metricsUrl: string): Promise<number> {
  return (await readWorkerFigures(metricsUrl)).cpuSeconds;
}

interface BatchResult {
  jobsPerSecond: number;
  cpuMsPerJob: number;
  /** Jobs whose result says they were profiled, and the overhead each was charged. */
  profiles: { count: number; chargedMs: number };
}

async function runBatch(mode: Mode, round: number): Promise<BatchResult> {
  const cpuBefore = await workerCpuSeconds(mode.metricsUrl!);
  const startedAt = performance.now();
  const jobs = await mode.queue!.addBulk(
    Array.from({ length: JOBS }, (_, index) => ({
      name: 'query',
      data: { query: `redis eviction policy and GDPR retention ${round}-${index}`, userId: `bench-${index % 20}` },
      // Kept until the queue is obliterated at the end: waitUntilFinished reads the finished job,
      // and a job removed on completion before that read fails with "Missing key".
    })),
  );
  const results = (await Promise.all(jobs.map((job) => job.waitUntilFinished(mode.events!, 300_000)))) as Array<Pick<RagQueryResult, 'profiling'>>;
  const seconds = (performance.now() - startedAt) / 1000;
  const cpuAfter = await workerCpuSeconds(mode.metricsUrl!);
  const profiled = results.filter((result) => result.profiling?.profiled);
  return {
    jobsPerSecond: JOBS / seconds,
    cpuMsPerJob: ((cpuAfter - cpuBefore) * 1000) / JOBS,
    profiles: { count: profiled.length, chargedMs: profiled.reduce((total, result) => total + (result.profiling?.overheadMs ?? 0), 0) },
  };
}

async function main(): Promise<number> {
  const intake = await startLocalIntake({ port: 0 });
  const profileDir = mkdtempSync(path.join(tmpdir(), 'ragscope-apm-overhead-'));
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const stamp = Date.now();
  // Every worker on the same CPU: their CPU times are compared, and vCPUs can differ in speed.
  const pinning = pinWorkersToOneCpu();
  // Sized once, here, on the workers' CPU, so every configuration does the same work per job.
  const pipelineEnv: Record<string, string> =
    JOB_CPU_MS === undefined
      ? {}
      : { RAGSCOPE_PIPELINE: CPU_BOUND_PIPELINE, RAGSCOPE_BENCH_JOB_UNITS: String(onWorkerCpu(pinning, () => unitsForMs(JOB_CPU_MS))) };
  const modes: Mode[] = [
    {
      label: 'off',
      env: { DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0', DD_PROFILING_ENABLED: 'false' },
      prefix: `bench-off-${stamp}`,
      throughput: [],
      cpuMsPerJob: [],
    },
    { label: 'defaults', env: { DD_TRACE_AGENT_URL: intake.url }, prefix: `bench-defaults-${stamp}`, throughput: [], cpuMsPerJob: [] },
    {
      label: 'all on',
      env: {
        DD_TRACE_AGENT_URL: intake.url,
        DD_TRACE_SAMPLE_RATE: '1',
        DD_PROFILING_ENABLED: 'true',
        DD_PROFILING_EXPORTERS: 'file',
        RAGSCOPE_PROFILE_DIR: profileDir,
      },
      prefix: `bench-all-on-${stamp}`,
      throughput: [],
      cpuMsPerJob: [],
    },
    ...(BREAKDOWN
      ? [
          { label: 'tracing only', env: { DD_TRACE_AGENT_URL: intake.url, DD_PROFILING_CAPTURE_PCT: '0' }, prefix: `bench-tracing-${stamp}`, throughput: [], cpuMsPerJob: [] },
          { label: 'profiling only', env: { DD_TRACE_ENABLED: 'false' }, prefix: `bench-profiling-${stamp}`, throughput: [], cpuMsPerJob: [] },
          {
            label: 'traces dropped',
            env: { DD_TRACE_AGENT_URL: intake.url, DD_PROFILING_CAPTURE_PCT: '0', DD_TRACE_SAMPLE_RATE: '0', RAGSCOPE_TRACE_SAMPLE_RATE_HIGH_VOLUME: '0' },
            prefix: `bench-dropped-${stamp}`,
            throughput: [],
            cpuMsPerJob: [],
          },
        ]
      : []),
  ];
  try {
    for (const mode of modes) {
      const metricsPort = await freePort();
      mode.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      mode.worker = await startWorker({ ...pipelineEnv, ...mode.env, RAGSCOPE_QUEUE_PREFIX: mode.prefix, RAGSCOPE_METRICS_PORT: String(metricsPort) }, pinning);
      mode.queue = new Queue('rag-query', { connection, prefix: mode.prefix });
      mode.queue.setMaxListeners(JOBS + 10);
      openQueues.add(mode.queue);
      // BullMQ never closes a connection it was handed: kept here so the bench can quit it and exit.
      mode.eventsConnection = connection.duplicate();
      mode.events = new QueueEvents('rag-query', { connection: mode.eventsConnection, prefix: mode.prefix });
      await mode.events.waitUntilReady();
      // The same warm-up for every configuration: JIT tiers, PGlite caches, connections.
      for (let batch = 1; batch <= WARM_UP_BATCHES; batch++) await runBatch(mode, -batch);
    }
    process.stdout.write(`apm-overhead: ${ROUNDS} rounds × ${JOBS} jobs per configuration, concurrency ${CONCURRENCY}, order rotating\n`);
    process.stdout.write(`${pinning.description}\n`);
    process.stdout.write(
      JOB_CPU_MS === undefined
        ? 'jobs: the sample pipeline (rag-query on PGlite)\n'
        : `jobs: bench/cpu-bound-pipeline.cjs, ${pipelineEnv.RAGSCOPE_BENCH_JOB_UNITS} units of work each, sized to ${JOB_CPU_MS} ms of CPU in the bench's process on the workers' CPU\n`,
    );
    const jobsPerWorker = (ROUNDS + WARM_UP_BATCHES) * JOBS;
    if (jobsPerWorker > HIGH_VOLUME_JOBS_PER_HOUR) {
      process.stdout.write(
        `note: ${jobsPerWorker} jobs per worker pass ${HIGH_VOLUME_JOBS_PER_HOUR} an hour, so defaults keep 1% of traces, not 10%, once they have\n`,
      );
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = modes.map((_, index) => modes[(index + round) % modes.length]!);
      for (const mode of order) {
        const batch = await runBatch(mode, round);
        mode.throughput.push(batch.jobsPerSecond);
        mode.cpuMsPerJob.push(batch.cpuMsPerJob);
        const profiles = (mode.profiles ??= { count: 0, chargedMs: 0 });
        profiles.count += batch.profiles.count;
        profiles.chargedMs += batch.profiles.chargedMs;
      }
      process.stdout.write(
        `round ${String(round + 1).padStart(2)}: ${modes
          .map((mode) => `${mode.label} ${mode.throughput.at(-1)!.toFixed(1)} jobs/s ${mode.cpuMsPerJob.at(-1)!.toFixed(2)} ms CPU/job`)
          .join(' | ')}\n`,
      );
    }
    const [off, defaults] = modes as [Mode, Mode, ...Mode[]];
    process.stdout.write('\nmedians:\n');
    for (const mode of modes) {
      process.stdout.write(`  ${mode.label.padEnd(14)} ${median(mode.throughput).toFixed(1)} jobs/s, ${median(mode.cpuMsPerJob).toFixed(3)} ms CPU per job\n`);
    }
    const cpuDefaults = pairedRatio(defaults.cpuMsPerJob, off.cpuMsPerJob);
    const throughputDefaults = pairedRatio(defaults.throughput, off.throughput);
    const compared = modes.slice(1);
    process.stdout.write('\nratios to off (median of per-round ratios, 95% bootstrap CI):\n');
    for (const mode of compared) {
      process.stdout.write(
        `  ${mode.label.padEnd(14)} CPU per job ${formatEstimate(pairedRatio(mode.cpuMsPerJob, off.cpuMsPerJob))}   ` +
          `throughput ${formatEstimate(pairedRatio(mode.throughput, off.throughput))}\n`,
      );
    }
    // The goals are judged on the medians, as asked; totals charge rare costs (a per-job profile,
    // bounded by the overhead cap) in full, so both are printed.
    process.stdout.write('\nratios of totals over all rounds (mean cost; 95% bootstrap CI over rounds):\n');
    for (const mode of compared) process.stdout.write(`  ${mode.label.padEnd(14)} CPU ${formatEstimate(ratioOfTotals(mode.cpuMsPerJob, off.cpuMsPerJob))}\n`);
    // In ms rather than as a ratio: what a job of another size would pay, if the cost is fixed per job.
    process.stdout.write('\nCPU added per job, ms (mean of per-round differences to off; 95% bootstrap CI over rounds):\n');
    for (const mode of compared) {
      const added = mode.cpuMsPerJob.map((cpuMs, round) => cpuMs - off.cpuMsPerJob[round]!);
      process.stdout.write(`  ${mode.label.padEnd(14)} ${formatEstimate(bootstrapMean(added))}\n`);
    }
    // Whether the configurations profiled as often as the cap lets them: the cap's share is the
    // charge against the worker's CPU in the measured batches (its window also counts idle time).
    process.stdout.write('\nper-job profiles in the measured rounds (from the job results):\n');
    for (const mode of compared) {
      const { count, chargedMs } = mode.profiles ?? { count: 0, chargedMs: 0 };
      if (count === 0) continue;
      const batchCpuMs = mode.cpuMsPerJob.reduce((total, cpuMs) => total + cpuMs * JOBS, 0);
      process.stdout.write(
        `  ${mode.label.padEnd(14)} ${count} of ${ROUNDS * JOBS} jobs, cap charged ${(chargedMs / count).toFixed(1)} ms each, ` +
          `${((chargedMs / batchCpuMs) * 100).toFixed(1)}% of the batches' CPU\n`,
      );
    }
    process.stdout.write(`spans received by the intake: ${intake.store.allSpans().length}\n`);
    const cpuOk = cpuDefaults.high <= GOALS.cpuRatioHigh;
    const throughputOk = throughputDefaults.low >= GOALS.throughputRatioLow;
    process.stdout.write(
      `\ngoal, defaults: CPU per job upper bound ≤ ${GOALS.cpuRatioHigh}: ${cpuOk ? 'PASS' : 'FAIL'}; ` +
        `throughput lower bound ≥ ${GOALS.throughputRatioLow}: ${throughputOk ? 'PASS' : 'FAIL'}\n`,
    );
    return cpuOk && throughputOk ? 0 : 1;
  } finally {
    await Promise.all(
      modes.map(async (mode) => {
        await mode.worker?.stop();
        await mode.events?.close();
        await mode.eventsConnection?.quit().catch(() => mode.eventsConnection?.disconnect());
        await mode.queue?.obliterate({ force: true }).catch(() => undefined);
        await mode.queue?.close();
      }),
    );
    await connection.quit();
    await intake.close();
    rmSync(profileDir, { recursive: true, force: true });
  }
}

const onSignal = (): void => {
  process.stderr.write('interrupted: stopping the worker processes and deleting the bench queues\n');
  void Promise.all([...running].map((worker) => worker.stop()))
    .then(() => Promise.all([...openQueues].map((queue) => queue.obliterate({ force: true }).catch(() => undefined))))
    .finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main()
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`apm-overhead failed: ${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    },
  )
  .finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
