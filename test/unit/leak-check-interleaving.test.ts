import { describe, expect, it } from 'vitest';
import { runLeakCheck } from '../../src/memory/leak-check-run';
import { ExclusiveGate } from '../../src/telemetry/profiling/exclusive-gate';

const ITERATIONS = 20;

/**
 * The leak-check run and the worker's gate, without a worker: queries (shared holders) run between
 * iterations, and never during one (a neighbour's allocations would be read as the check's own).
 */
describe('runLeakCheck with runAlone', () => {
  it('lets a shared job run between iterations, never during one', async () => {
    const gate = new ExclusiveGate();
    let iterationsDone = 0;
    const sharedDuringIteration: number[] = [];
    const check = runLeakCheck({
      iterations: ITERATIONS,
      iterate: async (iteration) => {
        if (gate.running.shared > 0) sharedDuringIteration.push(iteration);
        await new Promise((resolve) => setTimeout(resolve, 2));
        iterationsDone = iteration;
      },
      memoryProfilingEnabled: false,
      runAlone: (work) => gate.exclusive(work),
    });
    while (iterationsDone < 2) await new Promise((resolve) => setTimeout(resolve, 1));

    const ranAfter: number[] = [];
    for (let query = 0; query < 3; query++) {
      await gate.shared(async () => {
        ranAfter.push(iterationsDone);
        await new Promise((resolve) => setTimeout(resolve, 2));
      });
    }
    const result = await check;

    expect(ranAfter.every((iteration) => iteration < ITERATIONS)).toBe(true);
    expect(sharedDuringIteration).toEqual([]);
    expect(result.samples.map((sample) => sample.iteration)).toEqual(Array.from({ length: ITERATIONS }, (_, index) => index + 1));
  });

  it('without runAlone runs the iterations back to back, as a caller with nothing else running wants', async () => {
    const order: number[] = [];
    const result = await runLeakCheck({ iterations: 5, iterate: async (iteration) => void order.push(iteration), memoryProfilingEnabled: false });
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(result.samples).toHaveLength(5);
  });
});
