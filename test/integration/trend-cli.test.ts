import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../helpers/processes';

/** `ragscope trend <file>` as a user runs it: real files, a real process, exit codes and output. */
describe('ragscope trend', () => {
  const HOUR_MS = 3_600_000;
  const START_MS = Date.UTC(2025, 0, 1);
  /** A small fixed wobble so the series are not perfectly straight lines. */
  const wobble = (hour: number): number => [3, -5, 8, -2, 0, 6, -7, 1][hour % 8]!;
  let directory: string;
  const file = (name: string): string => path.join(directory, name);

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'ragscope-trend-'));
    const leakCsv = ['timestamp,heapUsedMb', ...Array.from({ length: 30 }, (_, hour) => `${new Date(START_MS + hour * HOUR_MS).toISOString()},${300 + 12 * hour + wobble(hour)}`)];
    await writeFile(file('leak.csv'), `${leakCsv.join('\n')}\n`);
    const flatJsonl = Array.from({ length: 24 }, (_, hour) => JSON.stringify({ timestamp: START_MS + hour * HOUR_MS, heapUsedMb: 300 + wobble(hour) }));
    await writeFile(file('flat.jsonl'), flatJsonl.join('\n'));
    await writeFile(file('short.csv'), `${START_MS},300\n${START_MS + HOUR_MS},320\n`);
    await writeFile(file('broken.csv'), ['timestamp,heapUsedMb', '2025-01-01T00:00:00Z,300', '2025-01-01T01:00:00Z,lots', 'noon,310', '2025-01-01T03:00:00Z,330'].join('\n'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const expectUserError = (run: CliRun, message: RegExp): void => {
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  };

  it('prints a readable verdict, and the JSON shape with --json', async () => {
    const [readable, json, flat] = await Promise.all([
      runCli(['trend', file('leak.csv')]),
      runCli(['trend', file('leak.csv'), '--json']),
      runCli(['trend', file('flat.jsonl'), '--json']),
    ]);
    expect(readable.code, readable.stderr).toBe(0);
    expect(readable.stdout).toMatch(/^verdict: +LEAK +\(last 24 of 30 samples, 23\.0 h\)$/m);
    expect(readable.stdout).toMatch(/^slope: +\+1[12]\.\d\d MB\/h/m);
    expect(readable.stdout).toMatch(/^reason: +Heap grows 1[12]\.\d MB\/h .*: a leak by the 10 MB\/h threshold\.$/m);

    expect(json.code, json.stderr).toBe(0);
    const leak = JSON.parse(json.stdout);
    expect(Object.keys(leak)).toEqual(['samples', 'slopeMbPerHour', 'pValue', 'netGrowthMb', 'leak', 'reason', 'samplesInFile']);
    expect(leak).toMatchObject({ samples: 24, leak: true, samplesInFile: 30 });
    expect(leak.slopeMbPerHour).toBeGreaterThan(11);
    expect(leak.pValue).toBeLessThan(0.001);

    expect(flat.code, flat.stderr).toBe(0);
    expect(JSON.parse(flat.stdout)).toMatchObject({ samples: 24, leak: false, reason: expect.stringMatching(/under the 10 MB\/h leak threshold/) });
  });

  it('takes the threshold from --threshold', async () => {
    const run = await runCli(['trend', file('leak.csv'), '--json', '--threshold', '15']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ leak: false, reason: expect.stringMatching(/under the 15 MB\/h leak threshold/) });
  });

  it('says when there are too few samples for a verdict', async () => {
    const run = await runCli(['trend', file('short.csv'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      samples: 2,
      slopeMbPerHour: null,
      pValue: null,
      netGrowthMb: null,
      leak: false,
      reason: 'Only 2 samples; a verdict needs at least 6.',
      samplesInFile: 2,
    });
  });

  it('refuses bad input with a clear message, exit code 1 and no stack trace', async () => {
    const [broken, missing, badThreshold, noFile] = await Promise.all([
      runCli(['trend', file('broken.csv')]),
      runCli(['trend', file('missing.csv')]),
      runCli(['trend', file('leak.csv'), '--threshold', '-3']),
      runCli(['trend']),
    ]);
    expectUserError(broken, /^error: .*broken\.csv: 2 malformed lines \(read as CSV\)\n  line 3: heapUsedMb "lots" is not a number\n  line 4: timestamp "noon" is neither ISO 8601/);
    expectUserError(missing, /^error: no such file: .*missing\.csv$/m);
    expectUserError(badThreshold, /--threshold.*expected MB per hour, a number above 0/);
    expectUserError(noFile, /missing required argument 'file'/);
  });
});
