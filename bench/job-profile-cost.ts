/**
 * What one per-job CPU profile costs a worker, and what keeping the wall profiler running between
 * jobs would cost instead. In one process set up as `ragscope worker` runs at defaults (dd-trace
 * loaded, the sample pipeline on PGlite, warmed up), three measurements:
 *   cold     what JobProfiler does per profiled job: time.start, the job, time.stop, encode and
 *            write the .pprof, rank hotspots; CPU (process.cpuUsage, all threads) of each step, then
 *            of the whole profiled job and of the unprofiled job after it
 *   kept     the alternative: one profiler started once, and per job stop(true) to drop what came
 *            before, the job, stop(true) to take the job's profile; CPU of the two restarts
 *   idle     what a profiler left running costs the jobs it does not profile: batches of jobs with
 *            the profiler running and not, alternating; median of per-round ratios of CPU per job
 *            and the ratio of totals, with 95% bootstrap CIs
 * Profiles sample every 1 ms, as per-job profiles do. No goal: it prints what it measured and exits 0.
 *
 *   node --import tsx bench/job-profile-cost.ts [--profiles 20] [--rounds 20] [--jobs 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode, time } from '@datadog/pprof';
import pino from 'pino';
import { bootstrapMedian, formatEstimate, numberArgument, pairedRatio, ratioOfTotals } from './stats';
import { loadConfig } from '../src/config/config';
import { startLocalIntake } from '../src/telemetry/intake/intake-server';
import { rankHotspots } from '../src/telemetry/profiling/hotspots';
import { flushTraces, initTracing } from '../src/telemetry/tracing';
import { configuredPipeline, preparePipeline } from '../src/worker/start-worker';

const PROFILES = numberArgument('profiles', 20);
const ROUNDS = numberArgument('rounds', 20);
const JOBS = numberArgument('jobs', 100);
const PROFILE_OPTIONS = { lineNumbers: true, intervalMicros: 1000 };

/** CPU time of this process so far, in ms. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** `step`'s CPU time in ms, and what it returned. */
async function cpuOf<T>(step: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const before = cpuMs();
  const value = await step();
  return { ms: cpuMs() - before, value };
}

async function main(): Promise<void> {
  const intake = await startLocalIntake({ port: 0 });
  const outputDir = mkdtempSync(path.join(tmpdir(), 'ragscope-profile-cost-'));
  const config = loadConfig({ ...process.env, DD_TRACE_AGENT_URL: intake.url });
  initTracing(config);
  const logger = pino({ level: 'warn' });
  const pipeline = await (await preparePipeline(configuredPipeline(config), config, logger))();
  let jobIndex = 0;
  const job = () => {
    jobIndex++;
    return pipeline.run(
      { query: `redis eviction policy and GDPR retention ${jobIndex}`, userId: `bench-${jobIndex % 20}`, topK: 5, profile: 'auto' },
      { job: { id: String(jobIndex), attempt: 1 } },
    );
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
      const windowStart = cpuMs();
      const start = await cpuOf(() => time.start(PROFILE_OPTIONS));
      await job();
      const stop = await cpuOf(() => time.stop());
      const write = await cpuOf(async () => writeFile(path.join(outputDir, `cold-${index}.pprof`), await encode(stop.value)));
      const rank = await cpuOf(() => rankHotspots(stop.value, { top: 5 }));
      cold.start.push(start.ms);
      cold.stop.push(stop.ms);
      cold.write.push(write.ms);
      cold.rank.push(rank.ms);
      cold.total.push(start.ms + stop.ms + write.ms + rank.ms);
      profiledJob.push(cpuMs() - windowStart);
      plainJob.push((await cpuOf(job)).ms);
      await jobs(20);
    }

    const kept: number[] = [];
    let fullRestarts = 0;
    time.start(PROFILE_OPTIONS);
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
        if (running) time.start(PROFILE_OPTIONS);
        const batch = await cpuOf(() => jobs(JOBS));
        if (running) time.stop();
        (running ? idle.on : idle.off).push(batch.ms / JOBS);
      }
    }

    const ms = (values: number[]) => formatEstimate(bootstrapMedian(values), 1);
    process.stdout.write(
      `job-profile-cost: ${PROFILES} profiles of one rag-query job each (sampling every 1 ms), dd-trace loaded, PGlite open\n\n` +
        `cold profile (what JobProfiler does), CPU ms, median (95% CI):\n` +
        `  time.start         ${ms(cold.start)}\n` +
        `  time.stop          ${ms(cold.stop)}\n` +
        `  encode + write     ${ms(cold.write)}\n` +
        `  rank hotspots      ${ms(cold.rank)}\n` +
        `  total              ${ms(cold.total)}\n` +
        `  the profiled job, all of it: ${ms(profiledJob)}; the next job, unprofiled: ${ms(plainJob)}\n\n` +
        `kept running, per profile: two restarts ${ms(kept)} CPU ms, mean ${(kept.reduce((sum, value) => sum + value, 0) / PROFILES).toFixed(1)};\n` +
        `  ${fullRestarts} of ${PROFILES * 2} restarts fell back to a full stop and start\n` +
        `  (@datadog/pprof's check for a stuck V8 profiler fired; its fallback costs what a cold start does)\n\n` +
        `a running profiler's cost to unprofiled jobs, ${ROUNDS} alternating rounds × ${JOBS} jobs:\n` +
        `  CPU per job: not running ${bootstrapMedian(idle.off).value.toFixed(3)} ms, running ${bootstrapMedian(idle.on).value.toFixed(3)} ms\n` +
        `  ratio, median of rounds ${formatEstimate(pairedRatio(idle.on, idle.off))}; ratio of totals ${formatEstimate(ratioOfTotals(idle.on, idle.off))}\n`,
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
