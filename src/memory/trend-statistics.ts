/**
 * Trend statistics for short, noisy series: the Theil–Sen slope, the Mann–Kendall test, the normal
 * tail they need, and a small least-squares solver. Pure functions of their arguments.
 *
 * The trend test is rank-based on purpose: heap samples carry GC residue and the occasional outlier,
 * and with 6–24 points a least-squares slope or a t-test would be steered by one bad sample. Least
 * squares serves only the step guard, which asks how big a level shift is against the noise.
 */

export interface TrendPoint {
  x: number;
  y: number;
}

/** Median of the values; NaN for none. Does not reorder its argument. */
export function median(values: ArrayLike<number>): number {
  const copy = new Float64Array(values.length);
  for (let index = 0; index < values.length; index++) copy[index] = values[index]!;
  return medianInPlace(copy);
}

/**
 * Median by selection (Wirth's quickselect), reordering its scratch argument: the bench evaluates
 * hundreds of thousands of windows, and a full sort of 276 pairwise slopes was most of its time.
 */
function medianInPlace(values: Float64Array): number {
  const count = values.length;
  if (count === 0) return Number.NaN;
  const middle = count >> 1;
  const upper = selectInPlace(values, middle);
  if (count % 2 === 1) return upper;
  // After selection everything left of `middle` is ≤ it, so the lower middle is their maximum.
  let lower = values[0]!;
  for (let index = 1; index < middle; index++) if (values[index]! > lower) lower = values[index]!;
  return (lower + upper) / 2;
}

/** The k-th smallest value; afterwards values[0..k) ≤ values[k] ≤ values(k..]. Values must not be NaN. */
function selectInPlace(values: Float64Array, k: number): number {
  let low = 0;
  let high = values.length - 1;
  while (low < high) {
    const pivot = values[k]!;
    let i = low;
    let j = high;
    do {
      while (values[i]! < pivot) i++;
      while (pivot < values[j]!) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) low = i;
    if (k < i) high = j;
  }
  return values[k]!;
}

/**
 * Theil–Sen estimator: the median of the slopes of all pairs of points with distinct x. Tolerates up
 * to ~29% arbitrary outliers. NaN when no two points have distinct x.
 */
export function theilSenSlope(points: readonly TrendPoint[]): number {
  const count = points.length;
  const slopes = new Float64Array((count * (count - 1)) / 2);
  let filled = 0;
  for (let i = 0; i < count; i++) {
    const left = points[i]!;
    for (let j = i + 1; j < count; j++) {
      const right = points[j]!;
      const run = right.x - left.x;
      if (run !== 0) slopes[filled++] = (right.y - left.y) / run;
    }
  }
  return medianInPlace(slopes.subarray(0, filled));
}

export interface MannKendallResult {
  /** Σ sign(xj − xi)·sign(yj − yi) over all pairs: concordant minus discordant pairs. */
  s: number;
  /** Variance of S under "no trend", corrected for ties in x and in y. */
  variance: number;
  /** Continuity-corrected normal score of S. */
  z: number;
  /** One-sided p-value for an increasing trend, from the normal approximation. */
  pValueIncreasing: number;
}

/**
 * Mann–Kendall trend test (Kendall's S with time as the first variable). With the continuity
 * correction the normal approximation is within 0.007 of the exact permutation p-value for every n
 * from 5 to 24 wherever p ≤ 0.2 (checked against the exact distribution of S), which matters little
 * next to alpha = 0.05, and needs no table of critical values.
 */
export function mannKendall(points: readonly TrendPoint[]): MannKendallResult {
  const count = points.length;
  let s = 0;
  for (let i = 0; i < count; i++) {
    const left = points[i]!;
    for (let j = i + 1; j < count; j++) {
      const right = points[j]!;
      s += Math.sign(right.x - left.x) * Math.sign(right.y - left.y);
    }
  }
  const variance = kendallVariance(
    count,
    tieGroupSizes(points.map((point) => point.x)),
    tieGroupSizes(points.map((point) => point.y)),
  );
  const z = variance > 0 ? (s - Math.sign(s)) / Math.sqrt(variance) : 0;
  const pValueIncreasing = variance > 0 ? normalUpperTail(z) : 1;
  return { s, variance, z, pValueIncreasing };
}

/** Sizes of the groups of equal values that have more than one member. */
function tieGroupSizes(values: readonly number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  const sizes: number[] = [];
  let runStart = 0;
  for (let index = 1; index <= sorted.length; index++) {
    if (index === sorted.length || sorted[index] !== sorted[runStart]) {
      if (index - runStart > 1) sizes.push(index - runStart);
      runStart = index;
    }
  }
  return sizes;
}

/**
 * Var(S) with ties in both variables (Kendall, Rank Correlation Methods, 1970, eq. 4.4). With distinct
 * times it reduces to the usual [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18.
 */
function kendallVariance(count: number, xTies: readonly number[], yTies: readonly number[]): number {
  if (count < 2) return 0;
  const sum = (sizes: readonly number[], term: (size: number) => number): number =>
    sizes.reduce((total, size) => total + term(size), 0);
  const main = (size: number): number => size * (size - 1) * (2 * size + 5);
  const pairs = (size: number): number => size * (size - 1);
  const triples = (size: number): number => size * (size - 1) * (size - 2);
  let variance = (main(count) - sum(xTies, main) - sum(yTies, main)) / 18;
  if (count > 2) variance += (sum(xTies, triples) * sum(yTies, triples)) / (9 * triples(count));
  variance += (sum(xTies, pairs) * sum(yTies, pairs)) / (2 * pairs(count));
  return variance;
}

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * Complementary error function, Chebyshev fit from Numerical Recipes (2nd ed., §6.2): relative error
 * below 1.2e-7 everywhere, which is far finer than any p-value threshold needs, and stays accurate in
 * the far tail where 1 − erf(x) would cancel to zero.
 */
export function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const polynomial =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const upper = t * Math.exp(-x * x + polynomial);
  return x >= 0 ? upper : 2 - upper;
}

/**
 * The normal equations of a least-squares fit with three regressors, as sums over the points:
 * xtx = [Σx0x0, Σx0x1, Σx0x2, Σx1x1, Σx1x2, Σx2x2], xty = [Σx0y, Σx1y, Σx2y].
 */
export interface NormalEquations3 {
  count: number;
  xtx: readonly [number, number, number, number, number, number];
  xty: readonly [number, number, number];
  sumYY: number;
}

export interface LeastSquaresFit3 {
  coefficients: [number, number, number];
  /** Standard errors from the residual variance on count − 3 degrees of freedom. */
  standardErrors: [number, number, number];
}

/**
 * Solves the normal equations by the explicit inverse of the 3×3 Gram matrix: small enough to write
 * out, and the callers fit a model for every split of a window, so no allocation-heavy solver.
 * Null when the regressors are collinear or there are no degrees of freedom left for the noise.
 */
export function solveLeastSquares3(equations: NormalEquations3): LeastSquaresFit3 | null {
  const { count, xtx, xty, sumYY } = equations;
  if (count <= 3) return null;
  const [a, b, c, d, e, f] = xtx;
  // Cofactors of the symmetric matrix [[a, b, c], [b, d, e], [c, e, f]].
  const c00 = d * f - e * e;
  const c01 = c * e - b * f;
  const c02 = b * e - c * d;
  const c11 = a * f - c * c;
  const c12 = b * c - a * e;
  const c22 = a * d - b * b;
  const determinant = a * c00 + b * c01 + c * c02;
  const scale = Math.abs(a * d * f) + Math.abs(b * b * f) + Math.abs(c * c * d);
  if (!(Math.abs(determinant) > 1e-12 * scale)) return null;
  const [y0, y1, y2] = xty;
  const coefficients: [number, number, number] = [
    (c00 * y0 + c01 * y1 + c02 * y2) / determinant,
    (c01 * y0 + c11 * y1 + c12 * y2) / determinant,
    (c02 * y0 + c12 * y1 + c22 * y2) / determinant,
  ];
  const explained = coefficients[0] * y0 + coefficients[1] * y1 + coefficients[2] * y2;
  const residualVariance = Math.max(sumYY - explained, 0) / (count - 3);
  const standardErrors: [number, number, number] = [
    Math.sqrt((residualVariance * c00) / determinant),
    Math.sqrt((residualVariance * c11) / determinant),
    Math.sqrt((residualVariance * c22) / determinant),
  ];
  return { coefficients, standardErrors };
}
