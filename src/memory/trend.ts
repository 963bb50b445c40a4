import { ValidationError } from '../contracts/errors';
import { alignAcrossShift, findLevelShift } from './heap-step';
import { mannKendall, median, theilSenSlope, type TrendPoint } from './trend-statistics';

/**
 * The heap-leak verdict, and the alert built on it: is a worker's post-GC heap growing steadily
 * enough, for long enough, to call it a leak? Pure: the scheduler, `ragscope trend` and
 * bench/leak-detector call these with samples they read themselves. The rule and its sources are in
 * the design notes ("Memory"); how it performs on simulated series is in bench/README.md.
 */

/** One post-GC heap reading. */
export interface HeapSample {
  timestampMs: number;
  heapUsedMb: number;
}

/** Every knob of the verdict and of the alert. Defaults in DEFAULT_HEAP_TREND_OPTIONS. */
export interface HeapTrendOptions {
  /**
   * Trailing samples one verdict looks at (default 24: a day of hourly samples). Long enough for a
   * 12 MB/h leak to stand out of σ = 30 MB noise; short enough that a quiet past does not hide a new
   * leak for long (one starting mid-series is flagged after 14–20 samples, against 7 from a fresh one).
   */
  window: number;
  /**
   * No verdict below this many samples (default 6). With fewer, Mann–Kendall is all or nothing (at
   * 4 samples only a perfectly monotone series reaches p < 0.05), and the medians of the first and
   * last 3 samples would share samples.
   */
  minSamples: number;
  /** A leak's Theil–Sen slope is at least this (default 10 MB/h). */
  thresholdMbPerHour: number;
  /** One-sided Mann–Kendall significance level for "increasing" (default 0.05). */
  alpha: number;
  /**
   * Net growth (median of the last 3 samples − median of the first 3) must be at least this share of
   * what the slope predicts over the same stretch (default 0.5). Rejects series that rose and then
   * stopped, or rose and fell back: their pairwise slopes can be steep while the heap ends near where
   * it started.
   */
  minNetGrowthShare: number;
  /**
   * A level shift is set aside as a step when it stands more than this many standard errors above
   * zero in a trend + shift fit (default 4; heap-step.ts). Lower than the 6 robust σ because
   * a spurious shift found on a real leak comes out near zero, so a low bar costs the leak almost
   * nothing, while it catches 150 MB steps in σ = 30 MB noise (false alarms 16.5% at 6, 5.3% at 4).
   */
  stepMinStandardErrors: number;
  /** ...and carries more than this share of the window's net growth (default 0.5). */
  stepShareOfNetGrowth: number;
  /** Leak verdicts in a row before the alert is raised (default 2): one noisy window is not enough. */
  raiseAfterLeakWindows: number;
  /**
   * A raised alert clears once the slope is below this share of the threshold (default 0.5, i.e.
   * 5 MB/h). The gap between raising and clearing keeps a leak near the threshold from flapping.
   */
  clearBelowShareOfThreshold: number;
}

export const DEFAULT_HEAP_TREND_OPTIONS: Readonly<HeapTrendOptions> = Object.freeze({
  window: 24,
  minSamples: 6,
  thresholdMbPerHour: 10,
  alpha: 0.05,
  minNetGrowthShare: 0.5,
  stepMinStandardErrors: 4,
  stepShareOfNetGrowth: 0.5,
  raiseAfterLeakWindows: 2,
  clearBelowShareOfThreshold: 0.5,
});

/** Fills in defaults and rejects settings the rule cannot work with. */
export function resolveHeapTrendOptions(overrides: Partial<HeapTrendOptions> = {}): HeapTrendOptions {
  const options: HeapTrendOptions = { ...DEFAULT_HEAP_TREND_OPTIONS };
  // Key by key, so an explicit `undefined` (an unset CLI flag) keeps the default.
  for (const key of Object.keys(DEFAULT_HEAP_TREND_OPTIONS) as Array<keyof HeapTrendOptions>) {
    const value = overrides[key];
    if (value !== undefined) options[key] = value;
  }
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => void (ok || problems.push(problem));
  check(Number.isInteger(options.minSamples) && options.minSamples >= 3, 'minSamples must be a whole number ≥ 3');
  check(Number.isInteger(options.window) && options.window >= options.minSamples, 'window must be a whole number ≥ minSamples');
  check(Number.isFinite(options.thresholdMbPerHour) && options.thresholdMbPerHour > 0, 'thresholdMbPerHour must be a number > 0');
  check(options.alpha > 0 && options.alpha < 1, 'alpha must be between 0 and 1');
  check(options.minNetGrowthShare >= 0 && options.minNetGrowthShare <= 1, 'minNetGrowthShare must be between 0 and 1');
  check(options.stepMinStandardErrors > 0, 'stepMinStandardErrors must be > 0');
  check(options.stepShareOfNetGrowth >= 0 && options.stepShareOfNetGrowth <= 1, 'stepShareOfNetGrowth must be between 0 and 1');
  check(Number.isInteger(options.raiseAfterLeakWindows) && options.raiseAfterLeakWindows >= 1, 'raiseAfterLeakWindows must be a whole number ≥ 1');
  check(options.clearBelowShareOfThreshold > 0 && options.clearBelowShareOfThreshold <= 1, 'clearBelowShareOfThreshold must be > 0 and ≤ 1');
  if (problems.length > 0) throw new ValidationError(`invalid heap trend options: ${problems.join('; ')}`);
  return options;
}

/** A one-off jump the verdict set aside before testing for a trend. */
export interface HeapStep {
  /** The first sample after the jump. */
  atTimestampMs: number;
  /** Height of the jump beyond what the trend explains. */
  sizeMb: number;
}

export type HeapTrendDecision = 'insufficient-data' | 'leak' | 'no-leak';

export interface HeapTrendVerdict {
  /** Samples in the window the verdict looked at. */
  samples: number;
  spanHours: number;
  /** Theil–Sen slope of the window (with any step set aside); null without a verdict. */
  slopeMbPerHour: number | null;
  /** One-sided Mann–Kendall p-value for an increasing trend; null without a verdict. */
  pValue: number | null;
  /** Median of the last 3 samples − median of the first 3 (with any step set aside); null without a verdict. */
  netGrowthMb: number | null;
  leak: boolean;
  decision: HeapTrendDecision;
  /** The decision as a sentence, with the numbers behind it. */
  reason: string;
  step: HeapStep | null;
}

const MS_PER_HOUR = 3_600_000;

/**
 * Verdict over the last `window` samples (taken in time order, whatever order they come in). A leak
 * needs all three: a Theil–Sen slope ≥ the threshold, a significant one-sided Mann–Kendall test, and
 * net growth of at least half what that slope predicts. First, a one-off step that carries most of
 * the growth is set aside (the samples after it shifted down by its height), so the test sees the
 * trend on either side of it rather than the jump.
 */
export function evaluateHeapTrend(samples: readonly HeapSample[], overrides: Partial<HeapTrendOptions> = {}): HeapTrendVerdict {
  const options = resolveHeapTrendOptions(overrides);
  assertFiniteSamples(samples);
  const windowed = [...samples].sort((left, right) => left.timestampMs - right.timestampMs).slice(-options.window);
  const count = windowed.length;
  const spanHours = count > 0 ? (windowed[count - 1]!.timestampMs - windowed[0]!.timestampMs) / MS_PER_HOUR : 0;
  if (count < options.minSamples) {
    return withoutVerdict(count, spanHours, `only ${count} sample${count === 1 ? '' : 's'}; a verdict needs at least ${options.minSamples}`);
  }
  if (spanHours === 0) return withoutVerdict(count, spanHours, `all ${count} samples share one timestamp; a trend needs time between them`);

  const points: TrendPoint[] = windowed.map((sample) => ({ x: sample.timestampMs / MS_PER_HOUR, y: sample.heapUsedMb }));
  const shift = findLevelShift(points, netGrowth(points), {
    minStandardErrors: options.stepMinStandardErrors,
    shareOfNetGrowth: options.stepShareOfNetGrowth,
  });
  const tested = shift ? alignAcrossShift(points, shift) : points;
  const slopeMbPerHour = theilSenSlope(tested);
  const pValue = mannKendall(tested).pValueIncreasing;
  const netGrowthMb = netGrowth(tested);
  const predictedGrowthMb = slopeMbPerHour * netGrowthSpanHours(tested);

  const facts = `${count} samples over ${hours(spanHours)}`;
  const threshold = `${options.thresholdMbPerHour} MB/h`;
  let leak = false;
  let finding: string;
  if (slopeMbPerHour < options.thresholdMbPerHour) {
    finding = `heap trend ${signedRate(slopeMbPerHour)} is under the ${threshold} leak threshold (${pText(pValue)}, net growth ${signedMb(netGrowthMb)}, ${facts})`;
  } else if (pValue >= options.alpha) {
    finding = `heap trend ${signedRate(slopeMbPerHour)} is not significant (${pText(pValue)}, needs < ${options.alpha}; ${facts})`;
  } else if (netGrowthMb < options.minNetGrowthShare * predictedGrowthMb) {
    finding =
      `heap trend ${signedRate(slopeMbPerHour)} (${pText(pValue)}) is not sustained: net growth ${signedMb(netGrowthMb)} is under ` +
      `${percent(options.minNetGrowthShare)} of the ${mb(predictedGrowthMb)} that trend predicts (${facts})`;
  } else {
    leak = true;
    finding = `heap grows ${rate(slopeMbPerHour)} (${pText(pValue)}, net growth ${signedMb(netGrowthMb)}, ${facts}): a leak by the ${threshold} threshold`;
  }
  const step: HeapStep | null = shift ? { atTimestampMs: windowed[shift.index]!.timestampMs, sizeMb: shift.sizeMb } : null;
  const reason = step ? `a one-off ${mb(step.sizeMb)} step at ${new Date(step.atTimestampMs).toISOString()} was set aside; without it, ${finding}` : finding;
  return { samples: count, spanHours, slopeMbPerHour, pValue, netGrowthMb, leak, decision: leak ? 'leak' : 'no-leak', reason: sentence(reason), step };
}

function withoutVerdict(count: number, spanHours: number, why: string): HeapTrendVerdict {
  return {
    samples: count,
    spanHours,
    slopeMbPerHour: null,
    pValue: null,
    netGrowthMb: null,
    leak: false,
    decision: 'insufficient-data',
    reason: sentence(why),
    step: null,
  };
}

function assertFiniteSamples(samples: readonly HeapSample[]): void {
  const bad = samples.findIndex((sample) => !Number.isFinite(sample.timestampMs) || !Number.isFinite(sample.heapUsedMb));
  if (bad >= 0) throw new ValidationError(`heap sample ${bad} is not a pair of finite numbers: ${JSON.stringify(samples[bad])}`);
}

/** Median of the last 3 − median of the first 3: how far the heap really moved, robust to one odd sample at either end. */
function netGrowth(points: readonly TrendPoint[]): number {
  return median(points.slice(-3).map((point) => point.y)) - median(points.slice(0, 3).map((point) => point.y));
}

/**
 * Hours between the middle samples of the first 3 and of the last 3: the stretch over which
 * `netGrowth` measures. The issue compares with slope × the whole span, but the medians sit one
 * sample in from each end, so a perfect 6-sample leak shows only 3/5 of slope × span and "50%" would
 * really demand 83%; that rule was rejecting young leaks, not stalled growth (a 20 MB/h leak at
 * σ = 10 MB flagged within 8 samples: 96.3% of seeds with it, 99.5% with this; bench/README.md).
 */
function netGrowthSpanHours(points: readonly TrendPoint[]): number {
  return Math.max(0, points[points.length - 2]!.x - points[1]!.x);
}

// ---- alert state machine ----

export interface LeakAlertState {
  raised: boolean;
  /** Leak verdicts in a row, up to and including the latest. */
  consecutiveLeakWindows: number;
}

export const INITIAL_LEAK_ALERT_STATE: Readonly<LeakAlertState> = Object.freeze({ raised: false, consecutiveLeakWindows: 0 });

export interface LeakAlertTransition {
  state: LeakAlertState;
  /** The alert was raised or cleared by this verdict: time to log, export and notify. */
  changed: boolean;
}

/**
 * Folds one verdict into the alert: raise after `raiseAfterLeakWindows` leak verdicts in a row, clear
 * once the slope drops below `clearBelowShareOfThreshold` × threshold. In between (a raised alert
 * whose slope sits between 5 and 10 MB/h) it holds, so a leak near the threshold does not flap. A
 * window without a verdict breaks the streak but neither raises nor clears.
 */
export function nextLeakAlertState(state: LeakAlertState, verdict: HeapTrendVerdict, overrides: Partial<HeapTrendOptions> = {}): LeakAlertTransition {
  const options = resolveHeapTrendOptions(overrides);
  const consecutiveLeakWindows = verdict.leak ? state.consecutiveLeakWindows + 1 : 0;
  const clearBelowMbPerHour = options.clearBelowShareOfThreshold * options.thresholdMbPerHour;
  let raised = state.raised;
  if (!raised && consecutiveLeakWindows >= options.raiseAfterLeakWindows) raised = true;
  else if (raised && verdict.slopeMbPerHour !== null && verdict.slopeMbPerHour < clearBelowMbPerHour) raised = false;
  return { state: { raised, consecutiveLeakWindows }, changed: raised !== state.raised };
}

// ---- wording ----

/** One decimal below 100, whole numbers from 100: enough to read, no false precision. */
function formatNumber(value: number): string {
  const rounded = Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1);
  return /^-0(\.0)?$/.test(rounded) ? rounded.slice(1) : rounded;
}

function mb(value: number): string {
  return `${formatNumber(value)} MB`;
}

function signedMb(value: number): string {
  const text = mb(value);
  return value > 0 && !text.startsWith('0.0 ') ? `+${text}` : text;
}

function rate(value: number): string {
  return `${formatNumber(value)} MB/h`;
}

function signedRate(value: number): string {
  const text = rate(value);
  return value > 0 && !text.startsWith('0.0 ') ? `+${text}` : text;
}

function hours(value: number): string {
  return `${formatNumber(value)} h`;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function pText(pValue: number): string {
  return pValue < 0.001 ? 'Mann–Kendall p < 0.001' : `Mann–Kendall p = ${pValue.toFixed(3)}`;
}

function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
