/**
 * CPU time of another process, read from /proc (Linux only): what the benches that run workers in
 * processes of their own charge each one. The parsing is pure, in scale-figures.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processCpuTicks } from './scale-figures';

export const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of `pid` so far, in clock ticks (1/CLOCK_TICKS_PER_SECOND s). */
export function cpuTicksOf(pid: number | undefined): number {
  if (pid === undefined) throw new Error('a process without a pid');
  return processCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}
