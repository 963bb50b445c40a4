/**
 * What one per-job CPU profile costs a worker, and what keeping the wall profiler running between
 * jobs would cost instead. In one process set up as `ragscope worker` runs at defaults (the
 * compiled build from dist/ with its source maps, dd-trace loaded, the sample pipeline on PGlite,
 * warmed up), three measurements:
 *   cold     what JobProfiler does per profiled job, with its options: time.start, the job,
 *            time.stop, encode and write the .pprof, rank hotspots; CPU (process.cpuUsage, all
 *            threads) of each step, then of the whole profiled job and of the unprofiled job after
 *            it; then JobProfiler.profile itself, whose own count is what the overhead cap charges
 *   kept     the alternative: one profiler started once, and per job stop(true) to drop what came
 *            before, the job, stop(true) to take the job's profile; CPU of the two restarts
 *   idle     what a profiler left running costs the jobs it does not profile: batches of jobs with
 *            the profiler running and not, alternating; median of per-round ratios of CPU per job
 *            and the ratio of totals, with 95% bootstrap CIs
 *   heap     what the start costs as the heap holds more objects: ballasts of small live objects (as
 *            an in-memory index of chunk records would hold) at 0, ¼, ½ and all of --heap-objects
 *            million, several cold starts at each; the slope, in CPU ms per million objects
 * Profiles sample every 1 ms, as per-job profiles do. No goal: it prints what it measured and exits 0.
 *
 *   npm run build && node --import tsx bench/job-profile-cost.ts [--profiles 20] [--rounds 20] [--jobs 100] [--heap-objects 2] [--starts 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode, time } from '@datadog/pprof';
import pino from 'pino';
import { bootstrapMedian, formatEstimate, numberArgument, pairedRatio, ratioOfTotals, slope } from './stats';
import { requireBuilt } from './compiled-build';

// The compiled build, as `ragscope worker` runs it: a profile's cost depends on the code in the
// isolate (V8 logs every compiled function as a profile starts) and on the build's source maps
// (every sampled location is looked up in them as the profile stops). See compiled-build.ts.
const { loadConfig } = requireBuilt<typeof import('../src/config/config')>('config/config');
const { startLocalIntake } = requireBuilt<typeof import('../src/telemetry/intake/intake-server')>('telemetry/intake/intake-server');
const { rankHotspots, timeHotspots } = requireBuilt<typeof import('../src/telemetry/profiling/hotspots')>('telemetry/profiling/hotspots');
const { JobProfiler } = requireBuilt<typeof import('../src/telemetry/profiling/job-profiler')>('telemetry/profiling/job-profiler');
const { processCpuMs } = requireBuilt<typeof import('../src/telemetry/profiling/process-cpu')>('telemetry/profiling/process-cpu');
const { inSpan } = requireBuilt<typeof import('../src/telemetry/spans')>('telemetry/spans');
const { flushTraces, initTracing } = requireBuilt<typeof import('../src/telemetry/tracing')>('telemetry/tracing');
const { configuredPipeline, preparePipeline } = requireBuilt<typeof import('../src/worker/start-worker')>('worker/start-worker');

const PROFILES = numberArgument('profiles', 20);
const ROUNDS = numberArgument('rounds', 20);
const JOBS = numberArgument('jobs', 100);
const HEAP_OBJECTS_MILLIONS = numberArgument('heap-objects', 2);
const STARTS = numberArgument('starts', 10);
const INTERVAL_MICROS = 1000;

/** Small live objects, one heap object each (no strings, no doubles): what V8 walks past as a profile starts. */
function ballastOf(count: number): Array<{ id: number; next: null }> {
  const objects = new Array<{ id: number; next: null }>(count);
  for (let index = 0; index < count; index++) objects[index] = { id: index, next: null };
  return objects;
}

/** `step`'s CPU time in ms, and what it returned. */
async function cpuOf<T>(step: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const before = processCpuMs();
  const value = await step();
  return { ms: processCpuMs() - before, value };
}

async function main(): Promise<void> {
  const intake = await startLocalIntake({ port: 0 });
  const outputDir = mkdtempSync(path.join(tmpdir(), 'ragscope-profile-cost-'));
  const config = loadConfig({ ...process.env, DD_TRACE_AGENT_URL: intake.url });
  initTracing(config);
  const logger = pino({ level: 'warn' });
  const pipeline = await (await preparePipeline(configuredPipeline(config), config, logger))();
  const warn = (message: string) => process.stderr.write(`${message}\n`);
  const profiler = await JobProfiler.create({ outputDir, top: 5, warn, intervalMicros: INTERVAL_MICROS });
  // JobProfiler's own options: line numbers, its sampling interval, the build's source maps.
  const profileOptions = { lineNumbers: true, intervalMicros: INTERVAL_MICROS, sourceMapper: profiler.sourceMapper?.forPprof() };
  let jobIndex = 0;
  // Each job under a dropped root, as nine in ten run in a worker at defaults: its stages record
  // nothing, and no span export (decoded by the intake in this same process) lands in a measurement.
  const job = () => {
    jobIndex++;
    const data = { query: `redis eviction policy and GDPR retention ${jobIndex}`, userId: `bench-${jobIndex % 20}`, topK: 5, profile: 'auto' as const };
    return inSpan('rag.job', { sampled: false }, () => pipeline.run(data, { job: { id: String(jobIndex), attempt: 1 } }));
  };
  const jobs = async (count: number) => {
    for (let index = 0; index < count; index++) await job();
  };
  try {
    await jobs(300);

    const cold = { start: [] as number[], stop: [] as number[], write: [] as number[], rank: [] as number[], total: [] as number[] };
    const profiledJob: number[] = [];
    const plainJob: number[] = [];
    for (let index = 0; index < PROFILES; index++) {
      const windowStart = processCpuMs();
      const start = await cpuOf(() => time.start(profileOptions));
      await job();
      const stop = await cpuOf(() => time.stop());
      const write = await cpuOf(async () => writeFile(path.join(outputDir, `cold-${index}.pprof`), await encode(stop.value)));
      const rank = await cpuOf(() => timeHotspots(rankHotspots(stop.value, { top: 5, resolveFile: profiler.resolveFile })));
      cold.start.push(start.ms);
      cold.stop.push(stop.ms);
      cold.write.push(write.ms);
      cold.rank.push(rank.ms);
      cold.total.push(start.ms + stop.ms + write.ms + rank.ms);
      profiledJob.push(processCpuMs() - windowStart);
      plainJob.push((await cpuOf(job)).ms);
      await jobs(20);
    }

    // The same through JobProfiler itself: what the overhead cap is charged per profile.
    const charged: number[] = [];
    for (let index = 0; index < PROFILES; index++) {
      charged.push((await profiler.profile(`charged-${index}`, job)).profilingMs);
      await jobs(20);
    }

    const kept: number[] = [];
    let fullRestarts = 0;
    time.start(profileOptions);
    for (let index = 0; index < PROFILES; index++) {
      const drop = await cpuOf(() => time.stop(true));
      fullRestarts += time.v8ProfilerStuckEventLoopDetected() > 0 ? 1 : 0;
      await job();
      const take = await cpuOf(() => time.stop(true));
      fullRestarts += time.v8ProfilerStuckEventLoopDetected() > 0 ? 1 : 0;
      kept.push(drop.ms + take.ms);
      await jobs(20);
    }
    time.stop();

    const idle = { on: [] as number[], off: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const running of round % 2 === 0 ? [false, true] : [true, false]) {
        // Started and stopped outside the measured batch: only what a running profiler adds to jobs counts.
        if (running) time.start(profileOptions);
        const batch = await cpuOf(() => jobs(JOBS));
        if (running) time.stop();
        (running ? idle.on : idle.off).push(batch.ms / JOBS);
      }
    }

    // Last, so the ballast weighs on no other measurement. Each start is stopped at once: what a start
    // costs does not depend on the job it is for.
    const heap: Array<{ millions: number; heapMb: number; start: number[] }> = [];
    const ballast: unknown[] = [];
    for (const share of [0, 0.25, 0.5, 1]) {
      const millions = HEAP_OBJECTS_MILLIONS * share;
      ballast.push(ballastOf(Math.round((millions - (heap.at(-1)?.millions ?? 0)) * 1e6)));
      const starts: number[] = [];
      for (let index = 0; index < STARTS; index++) {
        starts.push((await cpuOf(() => time.start(profileOptions))).ms);
        time.stop();
      }
      heap.push({ millions, heapMb: process.memoryUsage().heapUsed / 2 ** 20, start: starts });
    }
    const perMillion = slope(
      heap.flatMap((step) => step.start.map(() => step.millions)),
      heap.flatMap((step) => step.start),
    );
    ballast.length = 0;

    const ms = (values: number[]) => formatEstimate(bootstrapMedian(values), 1);
    process.stdout.write(
      `job-profile-cost: ${PROFILES} profiles of one rag-query job each (sampling every 1 ms), dd-trace loaded, PGlite open\n\n` +
        `cold profile (what JobProfiler does), CPU ms, median (95% CI):\n` +
        `  time.start         ${ms(cold.start)}\n` +
        `  time.stop          ${ms(cold.stop)}\n` +
        `  encode + write     ${ms(cold.write)}\n` +
        `  rank hotspots      ${ms(cold.rank)}\n` +
        `  total              ${ms(cold.total)}\n` +
        `  the profiled job, all of it: ${ms(profiledJob)}; the next job, unprofiled: ${ms(plainJob)}\n` +
        `  JobProfiler.profile, what the overhead cap is charged: ${ms(charged)}\n\n` +
        `kept running, per profile: two restarts ${ms(kept)} CPU ms, mean ${(kept.reduce((sum, value) => sum + value, 0) / PROFILES).toFixed(1)};\n` +
        `  ${fullRestarts} of ${PROFILES * 2} restarts fell back to a full stop and start\n` +
        `  (@datadog/pprof's check for a stuck V8 profiler fired; its fallback costs what a cold start does)\n\n` +
        `a running profiler's cost to unprofiled jobs, ${ROUNDS} alternating rounds × ${JOBS} jobs:\n` +
        `  CPU per job: not running ${bootstrapMedian(idle.off).value.toFixed(3)} ms, running ${bootstrapMedian(idle.on).value.toFixed(3)} ms\n` +
        `  ratio, median of rounds ${formatEstimate(pairedRatio(idle.on, idle.off))}; ratio of totals ${formatEstimate(ratioOfTotals(idle.on, idle.off))}\n\n` +
        `time.start as the heap holds more small live objects, ${STARTS} starts each, CPU ms, median (95% CI):\n` +
        heap.map((step) => `  +${step.millions.toFixed(2)} million objects (heap ${step.heapMb.toFixed(0)} MB): ${ms(step.start)}\n`).join('') +
        `  slope: ${formatEstimate(perMillion, 1)} ms more per million live objects\n`,
    );
  } finally {
    if (time.isStarted()) time.stop();
    await pipeline.close();
    await flushTraces();
    await intake.close();
    rmSync(outputDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`job-profile-cost failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
