import { solveLeastSquares3, type TrendPoint } from './trend-statistics';

/**
 * Step guard of the heap verdict: finds a one-off upward jump (a cache filled in one go, a bigger
 * batch or model loaded) so the trend test can be run as if it had not happened. Pure.
 */

export interface LevelShift {
  /** Index of the first point after the jump. */
  index: number;
  /** Height of the jump, beyond what the trend explains over that interval. */
  sizeMb: number;
  /** Standard errors by which the shift stands above zero. */
  tStatistic: number;
}

export interface StepGuardSettings {
  /** The shift must stand at least this many standard errors above zero. */
  minStandardErrors: number;
  /** ...and be more than this share of the window's net growth. */
  shareOfNetGrowth: number;
}

/**
 * The most significant upward level shift of the series, if it is significant and carries more than
 * `shareOfNetGrowth` of the net growth; null otherwise.
 *
 * Every split k with at least 2 points on either side is tried in the model
 *   heap = a + b·t + c·[point ≥ k] + noise,
 * fitted by least squares; the split with the largest t-statistic of c wins. Fitting the shift jointly
 * with the trend is what makes this better than the "largest increase is a > 6 robust σ
 * outlier among the increases" (kept in bench/README.md for comparison):
 * - on a real leak c comes out near zero, because the trend already explains the climb, so a
 *   spurious "step" found in noise removes almost nothing from the leak (the increase-based rule
 *   removed the whole noisy increase and cost young leaks their verdict);
 * - a step's noise is estimated from every point, not from the 4 other increases a 6-sample window
 *   has, whose MAD is too erratic for a 6σ rule; that is what let 150 MB steps through at σ = 30 MB.
 */
export function findLevelShift(points: readonly TrendPoint[], netGrowthMb: number, settings: StepGuardSettings): LevelShift | null {
  const count = points.length;
  // 3 parameters plus at least 2 degrees of freedom for the noise; without net growth there is no
  // leak verdict for a step to distort.
  if (count < 5 || !(netGrowthMb > 0)) return null;
  const meanX = points.reduce((total, point) => total + point.x, 0) / count;
  let sumY = 0;
  let sumUU = 0;
  let sumUY = 0;
  let sumYY = 0;
  for (const point of points) {
    const u = point.x - meanX;
    sumY += point.y;
    sumUU += u * u;
    sumUY += u * point.y;
    sumYY += point.y * point.y;
  }
  let best: LevelShift | null = null;
  // Running sums over the points from the split on: how many, Σu, Σy (Σu over all points is 0).
  let after = 0;
  let afterU = 0;
  let afterY = 0;
  for (let index = count - 1; index >= 2; index--) {
    const point = points[index]!;
    after++;
    afterU += point.x - meanX;
    afterY += point.y;
    if (after < 2) continue;
    // Regressors 1, u (centred time), s (1 from the split on): X'X and X'y from the running sums.
    const fit = solveLeastSquares3({ count, xtx: [count, 0, after, sumUU, afterU, after], xty: [sumY, sumUY, afterY], sumYY });
    if (!fit) continue;
    const sizeMb = fit.coefficients[2];
    const tStatistic = fit.standardErrors[2] > 0 ? sizeMb / fit.standardErrors[2] : Number.POSITIVE_INFINITY;
    if (sizeMb > 0 && (!best || tStatistic > best.tStatistic)) best = { index, sizeMb, tStatistic };
  }
  if (!best || best.tStatistic <= settings.minStandardErrors) return null;
  if (best.sizeMb <= settings.shareOfNetGrowth * netGrowthMb) return null;
  return best;
}

/** The series as if the shift had not happened: every point from it on moves down by its size. */
export function alignAcrossShift(points: readonly TrendPoint[], shift: LevelShift): TrendPoint[] {
  return points.map((point, index) => (index < shift.index ? point : { x: point.x, y: point.y - shift.sizeMb }));
}
