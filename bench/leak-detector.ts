/**
 * bench/leak-detector: how fast the heap-leak alert fires on leaking workers, and how rarely on
 * healthy ones, over seeded simulated hourly series (scenarios in ./leak-scenarios.ts).
 *
 *   node --import tsx bench/leak-detector.ts [--seeds N] [--seed-offset K] [--only <name part>]
 *
 * Seeds 0–999 chose the detector's thresholds (the step guard, the net-growth share). Figures worth
 * quoting must come from seeds never used for tuning, so the default offset starts at 1,000,000;
 * `--seed-offset 0` reproduces the tuning set.
 *
 * Every series is fed one sample at a time, exactly as the scheduler does: a bounded series of the
 * last `window` samples, a verdict over it at each new sample, folded into the alert state machine.
 * Seeds are split across worker threads (one a core). A scenario with a target prints PASS or FAIL;
 * the process exits 1 if any target fails.
 */

import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { mulberry32 } from './heap-series-simulation';
import { parseHeapSeries } from '../src/memory/heap-series-file';
import { evaluateHeapTrend } from '../src/memory/trend';
import { alertHistory, BENCH_OPTIONS, SCENARIOS, type Scenario, type SeedOutcomes, type WorkerTask } from './leak-scenarios';

interface ScenarioResult extends SeedOutcomes {
  scenario: Scenario;
  seeds: number;
}

function quantile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}

interface Row {
  scenario: string;
  delay: string;
  rate: string;
  target: string;
  result: string;
}

function summarise(result: ScenarioResult): { row: Row; passed: boolean | null } {
  const { scenario, seeds, raisedAfter } = result;
  const share = (count: number): string => `${((100 * count) / seeds).toFixed(1)}%`;
  const alarmed = raisedAfter.filter((value): value is number => value !== null).sort((left, right) => left - right);
  if (scenario.kind === 'quiet') {
    const target = scenario.target?.kind === 'quiet' ? scenario.target : undefined;
    const passed = target ? alarmed.length / seeds <= target.maxRate : null;
    return {
      row: {
        scenario: scenario.name,
        // Over the seeds that alarmed: when in a series false alarms happen.
        delay: alarmed.length > 0 ? `at ${quantile(alarmed, 0.5)} / ${quantile(alarmed, 0.95)}` : '-',
        rate: `false alarms ${share(alarmed.length)}`,
        target: target ? `≤ ${(target.maxRate * 100).toFixed(1)}%` : '',
        result: verdictText(passed),
      },
      passed,
    };
  }
  const shape = scenario.shape(mulberry32(0));
  const horizon = shape.samples - (scenario.timedFrom?.(shape) ?? shape.leakOnsetSample ?? 0);
  // Undetected seeds count as later than the series is long, so the p95 is honest.
  const delays = raisedAfter.map((delay) => delay ?? Number.POSITIVE_INFINITY).sort((left, right) => left - right);
  const showDelay = (delay: number): string => (Number.isFinite(delay) ? String(delay) : `>${horizon}`);
  const target = scenario.target?.kind === 'detect' ? scenario.target : undefined;
  const within = target?.withinSamples ?? scenario.reportWithin ?? horizon;
  const detected = raisedAfter.filter((value) => value !== null && value <= within).length;
  const passed = target ? detected / seeds >= target.minRate : null;
  // Where detection is timed from a restart, an alert in the life before it is expected, not early.
  const early = result.earlyAlarms > 0 && !scenario.timedFrom ? ` (${result.earlyAlarms} before onset)` : '';
  return {
    row: {
      scenario: scenario.name,
      delay: `${showDelay(quantile(delays, 0.5))} / ${showDelay(quantile(delays, 0.95))}`,
      rate: `flagged ≤ ${within}: ${share(detected)}${early}`,
      target: target ? `≥ ${(target.minRate * 100).toFixed(0)}% ≤ ${target.withinSamples}` : '',
      result: verdictText(passed),
    },
    passed,
  };
}

function verdictText(passed: boolean | null): string {
  if (passed === null) return '';
  return passed ? 'PASS' : 'FAIL';
}

function printTable(rows: readonly Row[]): void {
  const header: Row = { scenario: 'scenario', delay: 'samples to alarm: median / p95', rate: 'rate', target: 'target', result: 'result' };
  const columns = Object.keys(header) as Array<keyof Row>;
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  const line = (row: Row): string => `| ${columns.map((column, index) => row[column].padEnd(widths[index]!)).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

/** Seeds below this were used while tuning the detector: out-of-sample runs start here. */
const DEFAULT_SEED_OFFSET = 1_000_000;

function parseArguments(argv: readonly string[]): { seeds: number; seedOffset: number; only?: string } {
  let seeds = 200;
  let seedOffset = DEFAULT_SEED_OFFSET;
  let only: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--seeds') {
      const value = Number(argv[++index]);
      if (!Number.isInteger(value) || value < 1) throw new Error('--seeds expects a whole number ≥ 1');
      seeds = value;
    } else if (argument === '--seed-offset') {
      const value = Number(argv[++index]);
      if (!Number.isInteger(value) || value < 0) throw new Error('--seed-offset expects a whole number ≥ 0');
      seedOffset = value;
    } else if (argument === '--only') {
      only = argv[++index];
    } else {
      throw new Error(`unknown argument ${argument} (usage: leak-detector.ts [--seeds N] [--seed-offset K] [--only <name part>])`);
    }
  }
  return { seeds, seedOffset, ...(only ? { only } : {}) };
}

function runInWorker(task: WorkerTask): Promise<SeedOutcomes[]> {
  return new Promise((resolve, reject) => {
    // Loader hooks from `--import tsx` do not reach worker threads; tsx's require hook, loaded first, does.
    const entry = path.join(__dirname, 'leak-detector-worker.ts');
    const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(entry)});`;
    const worker = new Worker(bootstrap, { eval: true, workerData: task });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`bench worker exited with ${code}`)));
  });
}

async function runAll(scenarios: readonly Scenario[], seeds: number, seedOffset: number): Promise<ScenarioResult[]> {
  const threads = Math.max(1, Math.min(availableParallelism(), seeds));
  const slices = Array.from({ length: threads }, (_, thread) => ({
    scenarioNames: scenarios.map((scenario) => scenario.name),
    fromSeed: seedOffset + Math.floor((thread * seeds) / threads),
    toSeed: seedOffset + Math.floor(((thread + 1) * seeds) / threads),
  }));
  const outcomes = await Promise.all(slices.map(runInWorker));
  return scenarios.map((scenario, index) => ({
    scenario,
    seeds,
    raisedAfter: outcomes.flatMap((slice) => slice[index]!.raisedAfter),
    earlyAlarms: outcomes.reduce((total, slice) => total + slice[index]!.earlyAlarms, 0),
  }));
}

/**
 * Replays the heap series recorded from a real worker (bench/record-heap-series.ts) through the same
 * alert path: one sample at a time, the trailing window, the alert state machine.
 */
function replayRecordedSeries(): void {
  const recorded = [
    { file: 'heap-series-healthy.csv', expectAlert: false },
    { file: 'heap-series-leaking.csv', expectAlert: true },
  ];
  process.stdout.write('\nrecorded series from a real worker (bench/data, 1 sample = 100 jobs, stamped an hour apart):\n');
  for (const { file, expectAlert } of recorded) {
    const fullPath = path.join(__dirname, 'data', file);
    if (!existsSync(fullPath)) throw new Error(`${fullPath} is missing: record it with bench/record-heap-series.ts`);
    const { samples } = parseHeapSeries(readFileSync(fullPath, 'utf8'), file);
    const alert = alertHistory(samples);
    const raisedAt = alert.indexOf(true);
    const final = evaluateHeapTrend(samples.slice(-BENCH_OPTIONS.window), BENCH_OPTIONS);
    const first = samples[0]!.heapUsedMb;
    const last = samples.at(-1)!.heapUsedMb;
    process.stdout.write(
      `  ${file}: ${samples.length} samples, ${first.toFixed(1)} → ${last.toFixed(1)} MB; slope of the last ${Math.min(samples.length, BENCH_OPTIONS.window)} ` +
        `${final.slopeMbPerHour?.toFixed(2) ?? "n/a"} MB/h, p ${final.pValue?.toExponential(1) ?? "n/a"}; alert ${raisedAt >= 0 ? `raised at sample ${raisedAt + 1}` : 'never raised'} ` +
        `(expected: ${expectAlert ? 'raised' : 'never'}) ${(raisedAt >= 0) === expectAlert ? 'PASS' : 'FAIL'}\n`,
    );
    if ((raisedAt >= 0) !== expectAlert) process.exitCode = 1;
  }
}

async function main(): Promise<void> {
  const { seeds, seedOffset, only } = parseArguments(process.argv.slice(2));
  const startedAt = performance.now();
  const scenarios = SCENARIOS.filter((scenario) => !only || scenario.name.includes(only));
  process.stdout.write(
    `leak detector: ${seeds} seeds a scenario (seeds ${seedOffset}–${seedOffset + seeds - 1}${seedOffset < 1000 ? ', overlapping the tuning seeds 0–999' : ', none used for tuning'}), hourly samples, window ${BENCH_OPTIONS.window}, threshold ${BENCH_OPTIONS.thresholdMbPerHour} MB/h, ` +
      `alert after ${BENCH_OPTIONS.raiseAfterLeakWindows} leak windows\n` +
      'samples to alarm: from the leak onset (or the series start) to the alert, counting the sample that raised it;\n' +
      'for leaks over all seeds (">N": not flagged within the series), for healthy series over the seeds that alarmed\n\n',
  );
  if (scenarios.length === 0) throw new Error(`no scenario name contains "${only}"`);
  const described = (await runAll(scenarios, seeds, seedOffset)).map(summarise);
  printTable(described.map((entry) => entry.row));
  const failed = described.filter((entry) => entry.passed === false).length;
  const checked = described.filter((entry) => entry.passed !== null).length;
  process.stdout.write(`\n${checked - failed}/${checked} targets met in ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`);
  if (failed > 0) process.exitCode = 1;
  replayRecordedSeries();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 2;
});
