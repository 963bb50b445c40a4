import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapMean, bootstrapMedian, median, numberArgument, pairedRatio, percentile, ratioOfTotals, slope } from '../../bench/stats';

describe('bench statistics', () => {
  it.each([
    [[3], 3],
    [[1, 9, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('median of %j is %d', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('percentile is nearest-rank', () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.95)).toBe(95);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 1)).toBe(100);
  });

  it('a bootstrap interval holds the median, is reproducible, and is zero-width for identical rounds', () => {
    const rounds = [0.97, 1.01, 0.99, 1.02, 0.98, 1.0, 0.96, 1.03, 0.99, 1.01];
    const estimate = bootstrapMedian(rounds, { seed: 7 });
    expect(estimate.value).toBeCloseTo(0.995, 6);
    expect(estimate.low).toBeLessThanOrEqual(estimate.value);
    expect(estimate.high).toBeGreaterThanOrEqual(estimate.value);
    expect(estimate.low).toBeGreaterThanOrEqual(0.96);
    expect(estimate.high).toBeLessThanOrEqual(1.03);
    expect(bootstrapMedian(rounds, { seed: 7 })).toEqual(estimate);
    expect(bootstrapMedian([2, 2, 2, 2])).toEqual({ value: 2, low: 2, high: 2 });
  });

  it('narrows as rounds agree more', () => {
    const noisy = [0.8, 1.2, 0.9, 1.1, 0.85, 1.15, 0.95, 1.05];
    const steady = noisy.map((value) => 1 + (value - 1) / 10);
    const width = (values: number[]) => {
      const estimate = bootstrapMedian(values);
      return estimate.high - estimate.low;
    };
    expect(width(steady)).toBeLessThan(width(noisy));
  });

  it('pairs rounds before taking ratios', () => {
    expect(pairedRatio([110, 220, 330], [100, 200, 300]).value).toBeCloseTo(1.1, 10);
    expect(() => pairedRatio([1, 2], [1])).toThrow(/same length/);
  });

  it('reads numeric arguments and refuses a bad one', () => {
    expect(numberArgument('rounds', 20, ['node', 'bench', '--rounds', '5'])).toBe(5);
    expect(numberArgument('rounds', 20, ['node', 'bench'])).toBe(20);
    const refuse = (message: string): never => {
      throw new Error(message);
    };
    expect(() => numberArgument('rounds', 20, ['node', 'bench', '--rounds', 'x'], refuse)).toThrow('--rounds expects a positive number, got "x"');
    expect(() => numberArgument('rounds', 20, ['node', 'bench', '--rounds', '0'], refuse)).toThrow('got "0"');
    expect(() => numberArgument('rounds', 20, ['node', 'bench', '--rounds', ''], refuse)).toThrow('got ""');
    expect(() => numberArgument('rounds', 20, ['node', 'bench', '--rounds'], refuse)).toThrow('got nothing');
  });

  it('answers a bad flag of a bench with its message and exit code 2, not a stack trace', () => {
    // A real bench: its flags are read as its module loads, before it touches Redis or the build.
    const bench = path.resolve(__dirname, '../../bench/apm-overhead.ts');
    const run = spawnSync(process.execPath, ['--import', 'tsx', bench, '--rounds', '0'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('apm-overhead.ts: --rounds expects a positive number, got "0"');
  });
});

describe('ratioOfTotals', () => {
  it('charges a rare costly round in full where the median of ratios does not', () => {
    // Nine rounds at cost 1.0, one round at 1.5 (a profile landed in it): the median ratio is 1, the total 1.05.
    const off = Array.from({ length: 10 }, () => 4);
    const on = [...Array.from({ length: 9 }, () => 4), 6];
    expect(pairedRatio(on, off).value).toBe(1);
    const totals = ratioOfTotals(on, off, { seed: 3 });
    expect(totals.value).toBeCloseTo(1.05, 12);
    expect(totals.low).toBeGreaterThanOrEqual(1);
    expect(totals.high).toBeGreaterThan(1.05);
    expect(ratioOfTotals(on, off, { seed: 3 })).toEqual(totals);
  });

  it('refuses unpaired rounds', () => {
    expect(() => ratioOfTotals([1], [1, 2])).toThrow(/same length/);
  });
});

describe('slope', () => {
  it('recovers the growth per unit of x, with an interval that holds it', () => {
    // 4 ms at no ballast, 70 ms more per million objects, ±3 ms of noise alternating.
    const x = [0, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1, 2, 2, 2];
    const y = x.map((value, index) => 4 + 70 * value + (index % 2 ? 3 : -3));
    const fitted = slope(x, y, { seed: 5 });
    expect(fitted.value).toBeGreaterThan(68);
    expect(fitted.value).toBeLessThan(72);
    expect(fitted.low).toBeLessThanOrEqual(fitted.value);
    expect(fitted.high).toBeGreaterThanOrEqual(fitted.value);
    expect(slope(x, y, { seed: 5 })).toEqual(fitted);
  });

  it('is exact on a line and zero on a flat series', () => {
    expect(slope([1, 2, 3], [5, 7, 9]).value).toBeCloseTo(2, 12);
    expect(slope([1, 2, 3], [4, 4, 4]).value).toBe(0);
  });

  it('refuses points it cannot fit', () => {
    expect(() => slope([1, 2], [1])).toThrow(/as many x as y/);
    expect(() => slope([3, 3], [1, 2])).toThrow(/two different x/);
  });
});

describe('bootstrapMean', () => {
  it('charges a rare costly round in full, with an interval that holds the mean', () => {
    const added = [...Array.from({ length: 19 }, () => 0.1), 2.1];
    const mean = bootstrapMean(added, { seed: 2 });
    expect(mean.value).toBeCloseTo(0.2, 12);
    expect(bootstrapMedian(added).value).toBeCloseTo(0.1, 12);
    expect(mean.low).toBeGreaterThanOrEqual(0.1 - 1e-12);
    expect(mean.high).toBeGreaterThan(0.2);
    expect(bootstrapMean(added, { seed: 2 })).toEqual(mean);
    expect(() => bootstrapMean([])).toThrow(/no values/);
  });
});
