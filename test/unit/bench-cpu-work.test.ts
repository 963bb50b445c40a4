import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { burn, unitsForMs } from '../../bench/cpu-work.cjs';
import type { PipelineContext, PipelineDefinition } from '../../src/pipeline/define-pipeline';

// The module `ragscope worker --pipeline` loads in bench/apm-overhead.ts --job-cpu-ms, required as
// the worker requires it (CommonJS, against the built package).
const requireFromBench = createRequire(path.resolve(__dirname, '../../bench/apm-overhead.ts'));
const loadPipeline = () => requireFromBench('./cpu-bound-pipeline.cjs') as PipelineDefinition<{ units: number }>;

const savedUnits = process.env.RAGSCOPE_BENCH_JOB_UNITS;
afterEach(() => {
  if (savedUnits === undefined) delete process.env.RAGSCOPE_BENCH_JOB_UNITS;
  else process.env.RAGSCOPE_BENCH_JOB_UNITS = savedUnits;
});

describe('the cpu-bound bench pipeline', () => {
  it('does a fixed amount of work: the same units give the same checksum, other units another', () => {
    expect(burn(1000)).toBe(burn(1000));
    expect(burn(1000)).not.toBe(burn(1001));
  });

  it('sizes the work in units, more for a longer target, at least one', () => {
    // The arithmetic on a given speed (a measured one differs by machine and load) …
    expect(unitsForMs(1, 0.0005)).toBe(2000);
    expect(unitsForMs(20, 0.0005)).toBe(40_000);
    expect(unitsForMs(0.0001, 0.0005)).toBe(1);
    // … and the speed measured in this process gives a whole number of units.
    const measured = unitsForMs(1);
    expect(Number.isInteger(measured) && measured >= 1).toBe(true);
  });

  it('runs every unit through four stages, one span each, and answers in the output contract', async () => {
    process.env.RAGSCOPE_BENCH_JOB_UNITS = '1000';
    const pipeline = loadPipeline();
    const state = await pipeline.setup!({} as never);
    expect(state).toEqual({ units: 1000 });
    const stages: string[] = [];
    const units: number[] = [];
    const ctx = {
      state,
      stage: async (name: string, work: () => unknown) => {
        stages.push(name);
        return work();
      },
    } as unknown as PipelineContext<{ units: number }>;
    const output = await pipeline.run({ query: 'what is a queue', userId: 'u1', topK: 5, profile: 'auto' }, ctx);
    expect(stages).toEqual(['embed', 'retrieve', 'rerank', 'generate']);
    for (const share of [0.2, 0.3, 0.4, 0.1]) units.push(Math.round(1000 * share));
    const checksum = units.reduce((total, count) => total + burn(count), 0);
    expect(output).toEqual({ answer: `checksum ${checksum.toFixed(3)} for 15 characters`, sources: [{ id: 'cpu-bound', score: 1 }] });
  });

  it('refuses to start without a unit count, saying which variable', () => {
    delete process.env.RAGSCOPE_BENCH_JOB_UNITS;
    expect(() => loadPipeline().setup!({} as never)).toThrow('RAGSCOPE_BENCH_JOB_UNITS must be a positive integer, got "undefined"');
  });
});
