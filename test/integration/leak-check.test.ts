import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeakCheckResult } from '../../src/contracts/leak-check';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

describe('leak-check jobs', () => {
  const prefix = uniquePrefix('leak-check');
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' };
  let worker: WorkerProcess;

  beforeAll(async () => {
    worker = await startWorkerProcess(env);
  });

  afterAll(async () => {
    await worker?.stop();
    await deletePrefix(prefix);
  });

  const leakCheck = async (args: string[]): Promise<LeakCheckResult> => {
    const run = await runCli(['enqueue', 'leak-check', '--iterations', '30', ...args, '--wait', '--json'], env, 120_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    return (JSON.parse(run.stdout) as { result: LeakCheckResult }).result;
  };

  it('finds the planted leak and names the function that allocated it', async () => {
    const result = await leakCheck(['--retain-leak']);
    expect(result.leakDetected).toBe(true);
    expect(result.verdict).toMatch(/^leak: the heap grows [\d.]+ KB\/iteration/);
    expect(result.growthKbPerIteration).toBeGreaterThan(100);
    expect(result.samples).toHaveLength(30);
    expect(result.samples.map((sample) => sample.iteration)).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
    expect(result.topGrowingSites[0]).toMatchObject({
      function: 'retainInLeakyCache',
      // Relative to the project root: results do not reveal where the checkout lives.
      file: 'src/pipeline/leak-plant.ts',
    });
    expect(result.topGrowingSites[0]!.bytes).toBeGreaterThan(1024 * 1024);
  });

  it('finds no leak in the clean pipeline', async () => {
    const result = await leakCheck([]);
    expect(result.leakDetected).toBe(false);
    expect(result.verdict).toMatch(/^no leak: /);
    expect(result.topGrowingSites.map((site) => site.function)).not.toContain('retainInLeakyCache');
  });

  it('refuses a bad iteration count before enqueueing', async () => {
    const run = await runCli(['enqueue', 'leak-check', '--iterations', '0'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--iterations.*whole number from 1 to 1000/);
  });
});
