import path from 'node:path';
import { mulberry32 } from '../src/random';

/**
 * The statistics every benchmark reports: medians of per-round ratios with a percentile-bootstrap
 * confidence interval. Rounds of the compared configurations alternate in one run, so a round's
 * ratio cancels most of the machine's drift; the bootstrap over rounds says how far the median of
 * those ratios could move on another run of the same length. Pure and seeded: the same rounds give
 * the same interval.
 */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Nearest-rank percentile, `share` in [0, 1]. */
export function percentile(values: readonly number[], share: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))]!;
}

export interface Estimate {
  /** The statistic on the rounds as measured. */
  value: number;
  /** 95% percentile-bootstrap interval. */
  low: number;
  high: number;
}

/**
 * 95% percentile-bootstrap interval of `statistic` over `rounds` rounds: each resample draws as many
 * round indices, with replacement, from a seeded generator.
 */
function bootstrapInterval(
  rounds: number,
  statistic: (draw: readonly number[]) => number,
  options: { resamples?: number; seed?: number },
): { low: number; high: number } {
  const resamples = options.resamples ?? 5000;
  const random = mulberry32(options.seed ?? 1);
  const statistics: number[] = [];
  const draw: number[] = new Array<number>(rounds);
  for (let resample = 0; resample < resamples; resample++) {
    for (let index = 0; index < rounds; index++) draw[index] = Math.floor(random() * rounds);
    statistics.push(statistic(draw));
  }
  return { low: percentile(statistics, 0.025), high: percentile(statistics, 0.975) };
}

/** Median of `values` with a 95% percentile-bootstrap confidence interval (`resamples` draws). */
export function bootstrapMedian(values: readonly number[], options: { resamples?: number; seed?: number } = {}): Estimate {
  const interval = bootstrapInterval(values.length, (draw) => median(draw.map((round) => values[round]!)), options);
  return { value: median(values), ...interval };
}

/** Mean of `values` with a 95% percentile-bootstrap confidence interval: a mean cost, rare costly rounds charged in full. */
export function bootstrapMean(values: readonly number[], options: { resamples?: number; seed?: number } = {}): Estimate {
  if (values.length === 0) throw new Error('mean of no values');
  const mean = (draw: readonly number[]) => draw.reduce((total, round) => total + values[round]!, 0) / draw.length;
  return { value: mean(values.map((_, index) => index)), ...bootstrapInterval(values.length, mean, options) };
}

/** Per-round ratios `numerator[i] / denominator[i]` of paired rounds, summarised as a bootstrapped median. */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[], options?: { resamples?: number; seed?: number }): Estimate {
  if (numerator.length !== denominator.length) throw new Error('paired rounds must have the same length');
  return bootstrapMedian(
    numerator.map((value, index) => value / denominator[index]!),
    options,
  );
}

/**
 * Σ numerator / Σ denominator over paired rounds, with a 95% percentile-bootstrap interval from
 * resampling rounds (pairs kept together). The median of per-round ratios shrugs off a rare costly
 * event (a per-job profile lands in some rounds, not others); the ratio of totals charges it in full.
 */
export function ratioOfTotals(numerator: readonly number[], denominator: readonly number[], options: { resamples?: number; seed?: number } = {}): Estimate {
  if (numerator.length !== denominator.length) throw new Error('paired rounds must have the same length');
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const totalsOf = (draw: readonly number[]) => sum(draw.map((round) => numerator[round]!)) / sum(draw.map((round) => denominator[round]!));
  return { value: sum(numerator) / sum(denominator), ...bootstrapInterval(numerator.length, totalsOf, options) };
}

/**
 * Least-squares slope of `y` on `x` (how much y grows per unit of x), with a 95% percentile-bootstrap
 * interval from resampling the points (pairs kept together). For a cost that grows with a size the
 * bench sets itself, measured several times at each size.
 */
export function slope(x: readonly number[], y: readonly number[], options: { resamples?: number; seed?: number } = {}): Estimate {
  if (x.length !== y.length) throw new Error('slope needs as many x as y');
  const fit = (draw: readonly number[]) => {
    let sumX = 0;
    let sumY = 0;
    for (const point of draw) {
      sumX += x[point]!;
      sumY += y[point]!;
    }
    const meanX = sumX / draw.length;
    const meanY = sumY / draw.length;
    let covariance = 0;
    let variance = 0;
    for (const point of draw) {
      covariance += (x[point]! - meanX) * (y[point]! - meanY);
      variance += (x[point]! - meanX) ** 2;
    }
    // A resample that drew a single x has no slope; 0 keeps it from poisoning the interval with NaN.
    return variance > 0 ? covariance / variance : 0;
  };
  if (new Set(x).size < 2) throw new Error('slope needs at least two different x');
  return { value: fit(x.map((_, index) => index)), ...bootstrapInterval(x.length, fit, options) };
}

export function formatEstimate(estimate: Estimate, digits = 3): string {
  return `${estimate.value.toFixed(digits)} (95% CI ${estimate.low.toFixed(digits)}–${estimate.high.toFixed(digits)})`;
}

/**
 * Says what is wrong with a flag and exits 2: a mistyped flag is the user's mistake, not a crash
 * (flags are read at module load, where a thrown error would print a stack trace).
 */
function exitWithUsageError(message: string): never {
  process.stderr.write(`${path.basename(process.argv[1] ?? 'bench')}: ${message}\n`);
  process.exit(2);
}

/** `--name value` from the command line, or the fallback; a value that is not a positive number goes to `fail`. */
export function numberArgument(
  name: string,
  fallback: number,
  argv: readonly string[] = process.argv,
  fail: (message: string) => never = exitWithUsageError,
): number {
  const index = argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const given = argv[index + 1];
  const value = Number(given);
  if (given === undefined || given.trim() === '' || !Number.isFinite(value) || value <= 0) {
    return fail(`--${name} expects a positive number, got ${given === undefined ? 'nothing' : JSON.stringify(given)}`);
  }
  return value;
}
