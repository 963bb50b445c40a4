import { describe, expect, it } from 'vitest';
import { processCpuSinceLastReading } from '../../src/telemetry/profiling/process-cpu';

/** Spins until the process has used `ms` more CPU time: the reading below must then see at least that. */
function burnCpu(ms: number): void {
  const target = process.cpuUsage();
  const used = () => {
    const now = process.cpuUsage(target);
    return (now.user + now.system) / 1000;
  };
  while (used() < ms) Math.sqrt(Math.random());
}

describe('processCpuSinceLastReading', () => {
  it('reads at most once per interval unless forced, and the skipped time shows in the next reading', () => {
    let clock = 0;
    const read = processCpuSinceLastReading(1000, () => clock);
    burnCpu(20);
    clock = 999;
    expect(read()).toBe(0);
    clock = 1000;
    expect(read()).toBeGreaterThanOrEqual(20);
    burnCpu(10);
    clock = 1001;
    expect(read()).toBe(0);
    expect(read(true)).toBeGreaterThanOrEqual(10);
  });
});
