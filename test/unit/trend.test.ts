import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/contracts/errors';
import { alignAcrossShift, findLevelShift } from '../../src/memory/heap-step';
import {
  DEFAULT_HEAP_TREND_OPTIONS,
  evaluateHeapTrend,
  INITIAL_LEAK_ALERT_STATE,
  nextLeakAlertState,
  resolveHeapTrendOptions,
  type HeapSample,
  type HeapTrendDecision,
  type HeapTrendOptions,
  type HeapTrendVerdict,
  type LeakAlertState,
} from '../../src/memory/trend';
import { erfc, mannKendall, median, normalUpperTail, solveLeastSquares3, theilSenSlope } from '../../src/memory/trend-statistics';

const HOUR_MS = 3_600_000;
const START_MS = Date.UTC(2025, 0, 1);

/** 48 fixed standard-normal draws (mulberry32 seed 2025), so every case is the same on every run. */
const NOISE = [
  -0.79, 0.31, 1.38, -0.31, -0.66, -0.04, 0.92, -1.25, -0.66, 0.47, -0.79, -0.57, 1.54, -0.81, -0.12, 0.13, 1.38, -1.24, -0.76, 1.47, -2.11,
  1.27, -1.11, 0.04, 1.61, 1.03, 0.87, 0.1, -1.9, -1.58, -0.37, 0.05, 0.43, -0.52, 0.67, 0.97, 0.86, -2.61, 0.23, -0.61, 0.61, 0.6, -0.13, 0.38,
  -0.16, 0.46, -0.45, 1.52,
];

/** Hourly samples from a heap curve (MB as a function of the hour) plus σ × the fixed noise. */
function hourly(count: number, heapAt: (hour: number) => number, noiseSigmaMb = 0): HeapSample[] {
  return Array.from({ length: count }, (_, hour) => ({ timestampMs: START_MS + hour * HOUR_MS, heapUsedMb: heapAt(hour) + noiseSigmaMb * NOISE[hour % NOISE.length]! }));
}

describe('Theil–Sen slope', () => {
  it('is the median of the pairwise slopes (even number of pairs: mean of the middle two)', () => {
    // Slopes 2, 1.5, 7/3, 1, 2.5, 4 → sorted 1, 1.5, 2, 7/3, 2.5, 4 → (2 + 7/3) / 2 = 13/6.
    const points = [0, 2, 3, 7].map((y, x) => ({ x, y }));
    expect(theilSenSlope(points)).toBeCloseTo(13 / 6, 12);
  });

  it('takes the middle slope of an odd number of pairs and ignores one outlier', () => {
    // Slopes 2, 0.5, -1 → 0.5.
    expect(theilSenSlope([1, 3, 2].map((y, x) => ({ x, y })))).toBe(0.5);
    // A wild last point moves only 3 of 10 slopes: the median stays that of the line y = 2x.
    expect(theilSenSlope([0, 2, 4, 6, 1000].map((y, x) => ({ x, y })))).toBe(2);
  });

  it('skips pairs that share an x, and is NaN when all do', () => {
    // Only (0,1)→(1,2) and (0,3)→(1,2) count: slopes 1 and -1.
    expect(theilSenSlope([{ x: 0, y: 1 }, { x: 0, y: 3 }, { x: 1, y: 2 }])).toBe(0);
    expect(theilSenSlope([{ x: 5, y: 1 }, { x: 5, y: 2 }])).toBeNaN();
  });

  it('is reported in MB per hour whatever the sampling interval', () => {
    const everyTenMinutes = [0, 1, 2, 3, 4, 5].map((index) => ({ timestampMs: START_MS + index * 600_000, heapUsedMb: 100 + 2 * index }));
    // 2 MB per 10 minutes = 12 MB/h.
    expect(evaluateHeapTrend(everyTenMinutes).slopeMbPerHour).toBeCloseTo(12, 9);
  });
});

describe('Mann–Kendall', () => {
  it('gives S, its variance and the continuity-corrected one-sided p of a monotone series', () => {
    // n = 5: S = 10, Var = 5·4·15/18 = 16.667, z = (10 − 1)/√16.667 = 2.2045.
    const result = mannKendall([1, 2, 3, 4, 5].map((y, x) => ({ x, y })));
    expect(result.s).toBe(10);
    expect(result.variance).toBeCloseTo(50 / 3, 12);
    expect(result.z).toBeCloseTo(9 / Math.sqrt(50 / 3), 12);
    expect(result.pValueIncreasing).toBeCloseTo(0.013743168, 7);
  });

  it('corrects the variance for ties in the heap values', () => {
    // y = 1, 2, 2, 3, 3, 3: S = 5 + 3 + 3 = 11; Var = (6·5·17 − 2·1·9 − 3·2·11)/18 = 426/18.
    const result = mannKendall([1, 2, 2, 3, 3, 3].map((y, x) => ({ x, y })));
    expect(result.s).toBe(11);
    expect(result.variance).toBeCloseTo(426 / 18, 12);
    expect(result.pValueIncreasing).toBeCloseTo(0.019912178, 7);
  });

  it('corrects for ties in time too (Kendall 1970, eq. 4.4)', () => {
    // x = 0, 0, 1, y = 1, 2, 3: S = 0 + 1 + 1 = 2; Var = (3·2·11 − 2·1·9)/18 = 48/18, no y ties.
    const result = mannKendall([{ x: 0, y: 1 }, { x: 0, y: 2 }, { x: 1, y: 3 }]);
    expect(result.s).toBe(2);
    expect(result.variance).toBeCloseTo(48 / 18, 12);
  });

  it('gives p near 1 for a decreasing series, 0.5 for S = ±1 and 1 for an all-tied one', () => {
    expect(mannKendall([5, 4, 3, 2, 1].map((y, x) => ({ x, y }))).pValueIncreasing).toBeCloseTo(0.986256832, 7);
    expect(mannKendall([1, 3, 2].map((y, x) => ({ x, y }))).pValueIncreasing).toBeCloseTo(0.5, 7);
    expect(mannKendall([7, 7, 7, 7].map((y, x) => ({ x, y }))).pValueIncreasing).toBe(1);
  });
});

describe('normal tail', () => {
  it.each([
    [0, 0.5],
    [1, 0.15865525393145707],
    [-1, 0.8413447460685429],
    [1.959963984540054, 0.025],
    [3, 0.0013498980316300957],
    [5, 2.866515718791946e-7],
  ])('P(Z > %d) = %d to better than 1e-7 relative', (z, expected) => {
    expect(Math.abs(normalUpperTail(z) - expected) / expected).toBeLessThan(1.2e-7);
  });

  it('erfc is 1 at 0 and stays in (0, 2)', () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(erfc(-6)).toBeCloseTo(2, 12);
    expect(erfc(6)).toBeGreaterThan(0);
  });
});

describe('helpers', () => {
  it('median leaves its argument alone', () => {
    const values = [5, 1, 4, 2, 3, 6];
    expect(median(values)).toBe(3.5);
    expect(values).toEqual([5, 1, 4, 2, 3, 6]);
    expect(median([])).toBeNaN();
  });

  it('least squares recovers an exact three-regressor fit', () => {
    // y = 1 + 2u + 3s over u = -2..2, s = 1 for the last two points.
    const rows = [-2, -1, 0, 1, 2].map((u, index) => ({ u, s: index >= 3 ? 1 : 0 }));
    const ys = rows.map(({ u, s }) => 1 + 2 * u + 3 * s);
    const sum = (term: (index: number) => number): number => rows.reduce((total, _, index) => total + term(index), 0);
    const fit = solveLeastSquares3({
      count: rows.length,
      xtx: [rows.length, sum((i) => rows[i]!.u), sum((i) => rows[i]!.s), sum((i) => rows[i]!.u ** 2), sum((i) => rows[i]!.u * rows[i]!.s), sum((i) => rows[i]!.s)],
      xty: [sum((i) => ys[i]!), sum((i) => rows[i]!.u * ys[i]!), sum((i) => rows[i]!.s * ys[i]!)],
      sumYY: sum((i) => ys[i]! ** 2),
    });
    expect(fit!.coefficients.map((value) => Number(value.toFixed(9)))).toEqual([1, 2, 3]);
    expect(fit!.standardErrors[2]).toBeCloseTo(0, 6);
  });

  it('finds a noise-free level shift where it is and aligns the series across it', () => {
    const points = [0, 0, 0, 0, 150, 150, 150, 150].map((y, x) => ({ x, y: y + x }));
    const shift = findLevelShift(points, 154, { minStandardErrors: 4, shareOfNetGrowth: 0.5 });
    expect(shift).toMatchObject({ index: 4 });
    expect(shift!.sizeMb).toBeCloseTo(150, 6);
    expect(alignAcrossShift(points, shift!).map((point) => Math.round(point.y))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('finds no shift in a straight line, however steep', () => {
    const points = [0, 1, 2, 3, 4, 5, 6, 7].map((x) => ({ x, y: 50 * x + NOISE[x]! }));
    expect(findLevelShift(points, 250, { minStandardErrors: 4, shareOfNetGrowth: 0.5 })).toBeNull();
  });
});

interface VerdictCase {
  name: string;
  samples: HeapSample[];
  options?: Partial<HeapTrendOptions>;
  decision: HeapTrendDecision;
  reason: RegExp;
}

const STEP_HOUR = 4;

const verdictCases: VerdictCase[] = [
  {
    name: 'flat noise (σ 10 MB) is no leak',
    samples: hourly(24, () => 300, 10),
    decision: 'no-leak',
    reason: /^Heap trend [-+]?\d\.\d MB\/h is under the 10 MB\/h leak threshold \(Mann–Kendall p = 0\.\d{3}, net growth [-+]?\d+\.\d MB, 24 samples over 23\.0 h\)\.$/,
  },
  {
    name: 'a slow leak (12 MB/h, σ 10) over a day is a leak',
    samples: hourly(24, (hour) => 300 + 12 * hour, 10),
    decision: 'leak',
    reason: /^Heap grows 1[12]\.\d MB\/h \(Mann–Kendall p < 0\.001, net growth \+2\d\d MB, 24 samples over 23\.0 h\): a leak by the 10 MB\/h threshold\.$/,
  },
  {
    name: 'a fast leak (50 MB/h) is a leak from the 6th sample',
    samples: hourly(6, (hour) => 300 + 50 * hour, 10),
    decision: 'leak',
    reason: /^Heap grows 5\d\.\d MB\/h \(Mann–Kendall p = 0\.004, net growth \+1\d\d MB, 6 samples over 5\.0 h\): a leak/,
  },
  {
    name: 'steady growth under the threshold (5 MB/h, σ 2) is no leak however significant',
    samples: hourly(24, (hour) => 300 + 5 * hour, 2),
    decision: 'no-leak',
    reason: /^Heap trend \+5\.\d MB\/h is under the 10 MB\/h leak threshold \(Mann–Kendall p < 0\.001/,
  },
  {
    name: 'a 150 MB step on a flat heap is set aside: no leak',
    samples: hourly(8, (hour) => 300 + (hour >= STEP_HOUR ? 150 : 0), 10),
    decision: 'no-leak',
    reason: /^A one-off 1[45]\d MB step at 2025-01-01T04:00:00\.000Z was set aside; without it, heap trend [-+]?\d\.\d MB\/h is under the 10 MB\/h leak threshold/,
  },
  {
    name: 'a step on top of a real leak still leaves a leak',
    samples: hourly(12, (hour) => 300 + 15 * hour + (hour >= 6 ? 150 : 0), 5),
    decision: 'leak',
    reason: /^A one-off 1[45]\d MB step at 2025-01-01T06:00:00\.000Z was set aside; without it, heap grows 1[45]\.\d MB\/h .*: a leak by the 10 MB\/h threshold\.$/,
  },
  {
    name: 'a GC sawtooth (every 4 h, 100 MB) is no leak',
    samples: hourly(24, (hour) => 300 + 25 * (hour % 4), 5),
    decision: 'no-leak',
    reason: /^Heap trend [-+]?\d\.\d MB\/h is under the 10 MB\/h leak threshold/,
  },
  {
    // A long GC cycle: 12 hours of growth, then a major collection gives it all back.
    name: 'growth that fell back at the end is not sustained',
    samples: hourly(14, (hour) => (hour < 12 ? 300 + 20 * hour : 300), 2),
    decision: 'no-leak',
    reason: /^Heap trend \+19\.\d MB\/h \(Mann–Kendall p = 0\.011\) is not sustained: net growth -1\d\.\d MB is under 50% of the 2\d\d MB that trend predicts \(14 samples over 13\.0 h\)\.$/,
  },
  {
    name: 'a steep but short series fails a strict alpha',
    samples: hourly(6, (hour) => 300 + 12 * hour),
    options: { alpha: 0.001 },
    decision: 'no-leak',
    reason: /^Heap trend \+12\.0 MB\/h is not significant \(Mann–Kendall p = 0\.004, needs < 0\.001; 6 samples over 5\.0 h\)\.$/,
  },
  {
    name: 'too few samples give no verdict',
    samples: hourly(5, (hour) => 300 + 50 * hour),
    decision: 'insufficient-data',
    reason: /^Only 5 samples; a verdict needs at least 6\.$/,
  },
  {
    name: 'samples that share one timestamp give no verdict',
    samples: Array.from({ length: 6 }, (_, index) => ({ timestampMs: START_MS, heapUsedMb: 300 + index })),
    decision: 'insufficient-data',
    reason: /^All 6 samples share one timestamp; a trend needs time between them\.$/,
  },
  {
    name: 'ties: a leak in a heap reported in 25 MB blocks is still a leak',
    samples: hourly(24, (hour) => 25 * Math.round((300 + 12 * hour + 10 * NOISE[hour]!) / 25)),
    decision: 'leak',
    reason: /^Heap grows 1[12]\.\d MB\/h \(Mann–Kendall p < 0\.001/,
  },
  {
    name: 'the threshold is an option',
    samples: hourly(24, (hour) => 300 + 12 * hour, 10),
    options: { thresholdMbPerHour: 15 },
    decision: 'no-leak',
    reason: /under the 15 MB\/h leak threshold/,
  },
  {
    name: 'only the last window counts: an old leak that stopped is no leak',
    samples: hourly(48, (hour) => 300 + 20 * Math.min(hour, 24), 10),
    decision: 'no-leak',
    reason: /under the 10 MB\/h leak threshold .* 24 samples over 23\.0 h\)\.$/,
  },
];

describe('evaluateHeapTrend', () => {
  it.each(verdictCases)('$name', ({ samples, options, decision, reason }) => {
    const verdict = evaluateHeapTrend(samples, options);
    expect(verdict.decision).toBe(decision);
    expect(verdict.leak).toBe(decision === 'leak');
    expect(verdict.reason).toMatch(reason);
  });

  it('without the step guard, the 150 MB step would have been called a leak', () => {
    const step = verdictCases.find((entry) => entry.name.startsWith('a 150 MB step'))!;
    expect(evaluateHeapTrend(step.samples).step).toMatchObject({ atTimestampMs: START_MS + STEP_HOUR * HOUR_MS });
    expect(evaluateHeapTrend(step.samples, { stepMinStandardErrors: Number.POSITIVE_INFINITY }).leak).toBe(true);
  });

  it('reads unsorted input in time order', () => {
    const samples = hourly(20, (hour) => 300 + 12 * hour, 10);
    const shuffled = [...samples].sort((left, right) => (left.heapUsedMb * 7919) % 13 - (right.heapUsedMb * 7919) % 13);
    expect(shuffled).not.toEqual(samples);
    expect(evaluateHeapTrend(shuffled)).toEqual(evaluateHeapTrend(samples));
  });

  it('reports the numbers behind the verdict, null without one', () => {
    const verdict = evaluateHeapTrend(hourly(7, (hour) => 300 + 20 * hour));
    expect(verdict).toMatchObject({ samples: 7, spanHours: 6, slopeMbPerHour: 20, netGrowthMb: 80, leak: true, step: null });
    expect(verdict.pValue).toBeCloseTo(normalUpperTail(20 / Math.sqrt((7 * 6 * 19) / 18)), 12);
    expect(evaluateHeapTrend([])).toMatchObject({ samples: 0, slopeMbPerHour: null, pValue: null, netGrowthMb: null, leak: false });
  });

  it('rejects samples that are not finite numbers', () => {
    expect(() => evaluateHeapTrend([{ timestampMs: START_MS, heapUsedMb: Number.NaN }])).toThrow(ValidationError);
  });
});

describe('options', () => {
  it('documents every default in one object', () => {
    expect(resolveHeapTrendOptions()).toEqual(DEFAULT_HEAP_TREND_OPTIONS);
    expect(resolveHeapTrendOptions({ thresholdMbPerHour: undefined }).thresholdMbPerHour).toBe(10);
  });

  it.each<[Partial<HeapTrendOptions>, RegExp]>([
    [{ window: 4 }, /window must be a whole number ≥ minSamples/],
    [{ minSamples: 2 }, /minSamples must be a whole number ≥ 3/],
    [{ thresholdMbPerHour: 0 }, /thresholdMbPerHour must be a number > 0/],
    [{ alpha: 1 }, /alpha must be between 0 and 1/],
    [{ raiseAfterLeakWindows: 1.5 }, /raiseAfterLeakWindows/],
  ])('rejects %o', (options, message) => {
    expect(() => resolveHeapTrendOptions(options)).toThrow(message);
  });
});

describe('leak alert', () => {
  const verdict = (leak: boolean, slopeMbPerHour: number | null): HeapTrendVerdict => ({
    samples: 24,
    spanHours: 23,
    slopeMbPerHour,
    pValue: slopeMbPerHour === null ? null : 0.01,
    netGrowthMb: slopeMbPerHour === null ? null : slopeMbPerHour * 20,
    leak,
    decision: slopeMbPerHour === null ? 'insufficient-data' : leak ? 'leak' : 'no-leak',
    reason: '',
    step: null,
  });

  function run(verdicts: HeapTrendVerdict[], options?: Partial<HeapTrendOptions>): Array<{ raised: boolean; changed: boolean }> {
    let state: LeakAlertState = INITIAL_LEAK_ALERT_STATE;
    return verdicts.map((next) => {
      const transition = nextLeakAlertState(state, next, options);
      state = transition.state;
      return { raised: state.raised, changed: transition.changed };
    });
  }

  it('raises after 2 leak windows in a row, and says so once', () => {
    expect(run([verdict(true, 12), verdict(true, 12), verdict(true, 13)])).toEqual([
      { raised: false, changed: false },
      { raised: true, changed: true },
      { raised: true, changed: false },
    ]);
  });

  it('does not raise on leak windows that are not consecutive', () => {
    expect(run([verdict(true, 12), verdict(false, 8), verdict(true, 12), verdict(false, null), verdict(true, 12)]).map((step) => step.raised)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('clears only once the slope is under half the threshold', () => {
    const steps = run([verdict(true, 12), verdict(true, 12), verdict(false, 9), verdict(false, 5), verdict(false, 4.9), verdict(false, 1)]);
    expect(steps).toEqual([
      { raised: false, changed: false },
      { raised: true, changed: true },
      // 9 and 5 MB/h: no leak any more, but not clearly over: the alert holds rather than flaps.
      { raised: true, changed: false },
      { raised: true, changed: false },
      { raised: false, changed: true },
      { raised: false, changed: false },
    ]);
  });

  it('holds a raised alert through a window without a verdict', () => {
    const steps = run([verdict(true, 12), verdict(true, 12), verdict(false, null)]);
    expect(steps[2]).toEqual({ raised: true, changed: false });
  });

  it('follows the options: 3 windows to raise, a 20 MB/h threshold clearing under 10', () => {
    const options = { raiseAfterLeakWindows: 3, thresholdMbPerHour: 20 };
    expect(run([verdict(true, 25), verdict(true, 25), verdict(true, 25), verdict(false, 11), verdict(false, 9)], options)).toEqual([
      { raised: false, changed: false },
      { raised: false, changed: false },
      { raised: true, changed: true },
      { raised: true, changed: false },
      { raised: false, changed: true },
    ]);
  });
});
