import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// A per-job profile must not slow the jobs after it. Source maps read in WebAssembly (source-map 0.8,
// @datadog/pprof's own mapper) detach an ArrayBuffer when that memory grows, and the first detached
// ArrayBuffer of a process deoptimises every function that reads a typed array, for good: the
// embedding and similarity code of a RAG pipeline then runs ~1.5 times slower (bench/README.md).
// Checked on V8's own optimisation status, in a process of its own (the state is per process).
const FIXTURE = path.resolve(__dirname, '../fixtures/typed-array-deopt.cjs');

function run(mode: 'profile' | 'detach'): { optimisedBefore: boolean; optimisedAfter: boolean; hotFiles?: string[] } {
  const child = spawnSync(process.execPath, ['--allow-natives-syntax', FIXTURE, mode], { encoding: 'utf8', timeout: 60_000 });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim()) as { optimisedBefore: boolean; optimisedAfter: boolean; hotFiles?: string[] };
}

describe('a per-job profile and the code that runs after it', () => {
  it('control: detaching an ArrayBuffer deoptimises an optimised typed-array function, so the check below can see it', () => {
    expect(run('detach')).toEqual({ optimisedBefore: true, optimisedAfter: false });
  });

  it('keeps typed-array code optimised through a profile whose frames were mapped to TypeScript', () => {
    const outcome = run('profile');
    // The profile did map its frames: the embedding it sampled is named by its TypeScript file (not
    // necessarily first: the split of a live profile is the machine's).
    expect(outcome.hotFiles).toContain('src/pipeline/embed.ts');
    expect(outcome).toMatchObject({ optimisedBefore: true, optimisedAfter: true });
  });
});
