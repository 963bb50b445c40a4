import { mannKendall, theilSenSlope } from './trend-statistics';

export interface IterationSample {
  iteration: number;
  heapUsedMb: number;
}

export interface LeakCheckVerdict {
  growthMb: number;
  growthKbPerIteration: number;
  pValue: number;
  leakDetected: boolean;
  verdict: string;
}

export interface LeakCheckThresholds {
  /** Theil–Sen growth per iteration that counts as a leak (default 32 KB: far above GC noise after a forced GC). */
  kbPerIteration: number;
  alpha: number;
  /** Fewer iterations than this cannot tell a trend from noise. */
  minIterations: number;
}

export const DEFAULT_LEAK_CHECK_THRESHOLDS: LeakCheckThresholds = { kbPerIteration: 32, alpha: 0.05, minIterations: 6 };

/**
 * A leak check's verdict over its post-GC heap per iteration: the same robust pair as the hourly
 * verdict (Theil–Sen slope, one-sided Mann–Kendall) with time measured in iterations, so one slow
 * iteration or a GC outlier does not decide it. The first iteration is left out: it fills caches
 * and JIT code once, which is growth but not a leak.
 */
export function evaluateLeakCheck(samples: IterationSample[], thresholds: LeakCheckThresholds = DEFAULT_LEAK_CHECK_THRESHOLDS): LeakCheckVerdict {
  const steady = samples.length > thresholds.minIterations ? samples.slice(1) : samples;
  const growthMb = samples.length > 1 ? round(samples.at(-1)!.heapUsedMb - samples[0]!.heapUsedMb) : 0;
  if (steady.length < thresholds.minIterations) {
    return {
      growthMb,
      growthKbPerIteration: 0,
      pValue: 1,
      leakDetected: false,
      verdict: `no verdict: ${samples.length} iterations, at least ${thresholds.minIterations + 1} are needed`,
    };
  }
  const points = steady.map((sample) => ({ x: sample.iteration, y: sample.heapUsedMb }));
  const growthKbPerIteration = round(theilSenSlope(points) * 1024);
  const pValue = mannKendall(points).pValueIncreasing;
  const leakDetected = growthKbPerIteration >= thresholds.kbPerIteration && pValue < thresholds.alpha;
  const numbers = `${growthKbPerIteration} KB/iteration (Theil–Sen), Mann–Kendall p = ${pValue.toPrecision(2)}, ${growthMb} MB over ${samples.length} iterations`;
  const verdict = leakDetected
    ? `leak: the heap grows ${numbers}; threshold ${thresholds.kbPerIteration} KB/iteration at p < ${thresholds.alpha}`
    : growthKbPerIteration >= thresholds.kbPerIteration
      ? `no leak: ${numbers}; the growth is not a consistent trend (p ≥ ${thresholds.alpha})`
      : `no leak: ${numbers}; below ${thresholds.kbPerIteration} KB/iteration`;
  return { growthMb, growthKbPerIteration, pValue: round(pValue, 6), leakDetected, verdict };
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
