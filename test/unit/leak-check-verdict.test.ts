import { describe, expect, it } from 'vitest';
import { evaluateLeakCheck, type IterationSample } from '../../src/memory/leak-check-verdict';

const series = (values: number[]): IterationSample[] => values.map((heapUsedMb, index) => ({ iteration: index + 1, heapUsedMb }));

describe('evaluateLeakCheck', () => {
  it('flags steady growth above the threshold', () => {
    const verdict = evaluateLeakCheck(series(Array.from({ length: 20 }, (_, index) => 30 + index * 0.25)));
    expect(verdict).toMatchObject({ leakDetected: true, growthKbPerIteration: 256, growthMb: 4.75 });
    expect(verdict.verdict).toMatch(/^leak: the heap grows 256 KB\/iteration/);
  });

  it('ignores a first-iteration warm-up jump', () => {
    const verdict = evaluateLeakCheck(series([20, 28, 28.01, 27.99, 28, 28.02, 28, 27.98, 28.01, 28]));
    expect(verdict.leakDetected).toBe(false);
    expect(verdict.growthMb).toBe(8);
    expect(verdict.verdict).toMatch(/below 32 KB\/iteration/);
  });

  it('is not fooled by one outlier', () => {
    const values = Array.from({ length: 20 }, () => 30);
    values[12] = 45;
    expect(evaluateLeakCheck(series(values)).leakDetected).toBe(false);
  });

  it('says a big but inconsistent change is not a trend', () => {
    const verdict = evaluateLeakCheck(series([30, 31, 29, 32, 28, 33, 27, 34, 26, 35]));
    expect(verdict.leakDetected).toBe(false);
  });

  it('gives no verdict on too few iterations', () => {
    const verdict = evaluateLeakCheck(series([1, 2, 3]));
    expect(verdict.leakDetected).toBe(false);
    expect(verdict.verdict).toMatch(/^no verdict: 3 iterations/);
  });
});
