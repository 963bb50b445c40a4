import { describe, expect, it } from 'vitest';
import { decideProfiling, ProfilingOverheadWindow, type ProfilingPolicy, type ProfilingRequest } from '../../src/telemetry/profiling/profiling-policy';

const policy: ProfilingPolicy = { capturePct: 1, maxTimeUsagePct: 5, cpuEnabled: true };
const request = (overrides: Partial<ProfilingRequest>): ProfilingRequest => ({
  mode: 'auto',
  random: 0.5,
  overheadPct: 0,
  previouslySlow: false,
  ...overrides,
});

describe('decideProfiling', () => {
  it.each<[string, ProfilingPolicy, Partial<ProfilingRequest>, boolean, RegExp]>([
    ['never means never', policy, { mode: 'never', random: 0 }, false, /asked for no profile/],
    ['always is honoured', policy, { mode: 'always' }, true, /asked for a profile/],
    ['always is honoured above the cap', policy, { mode: 'always', overheadPct: 50 }, true, /asked for a profile/],
    ['auto inside the capture rate', policy, { random: 0.009 }, true, /sampled at the 1% capture rate/],
    ['auto outside the capture rate', policy, { random: 0.01 }, false, /not sampled at the 1% capture rate/],
    ['auto above the overhead cap', policy, { random: 0, overheadPct: 5 }, false, /overhead 5\.0% is at or above the 5% cap/],
    ['a previously slow job', policy, { previouslySlow: true }, true, /earlier run of this job was slow/],
    ['a previously slow job above the cap', policy, { previouslySlow: true, overheadPct: 9 }, false, /cap/],
    ['CPU profiling disabled', { ...policy, cpuEnabled: false }, { mode: 'always' }, false, /DD_PROFILING_CPU_ENABLED=false/],
    ['profiler held elsewhere', policy, { mode: 'always', unavailableReason: 'the wall profiler is in use' }, false, /in use/],
    ['capture 100%', { ...policy, capturePct: 100 }, { random: 0.999 }, true, /100% capture rate/],
    ['capture 0%', { ...policy, capturePct: 0 }, { random: 0 }, false, /not sampled/],
  ])('%s', (_label, activePolicy, overrides, profile, reason) => {
    const decision = decideProfiling(activePolicy, request(overrides));
    expect(decision.profile).toBe(profile);
    expect(decision.reason).toMatch(reason);
  });

  it('marks only a profile chosen by the capture rate as sampled (its SQL plans may be reused)', () => {
    expect(decideProfiling(policy, request({ random: 0 })).trigger).toBe('sampled');
    expect(decideProfiling(policy, request({ mode: 'always' })).trigger).toBe('requested');
    expect(decideProfiling(policy, request({ previouslySlow: true, random: 0 })).trigger).toBe('slow');
    expect(decideProfiling(policy, request({ random: 0.5 })).trigger).toBeUndefined();
  });
});

describe('overhead cap over a sliding window', () => {
  it('stops selecting jobs while profiling time is over the cap, then resumes as it ages out', () => {
    const window = new ProfilingOverheadWindow(60_000);
    const capped = { ...policy, capturePct: 100 };
    const decideAt = (nowMs: number) =>
      decideProfiling(capped, request({ random: 0, overheadPct: window.overheadPct(nowMs) })).profile;

    expect(decideAt(0)).toBe(true);
    // A burst of profiled jobs: 100 ms of the worker's CPU with 20 ms of profiling each = 20% overhead.
    for (let second = 0; second < 10; second++) window.record(second * 1000, 100, 20);
    expect(window.overheadPct(10_000)).toBeCloseTo(20, 6);
    expect(decideAt(10_000)).toBe(false);
    // Unprofiled work dilutes it: 10 × 20 ms over 10 × 100 + 30 × 100 ms of CPU = 5%, still at the cap.
    for (let second = 10; second < 40; second++) window.record(second * 1000, 100, 0);
    expect(window.overheadPct(40_000)).toBeCloseTo(5, 6);
    expect(decideAt(40_000)).toBe(false);
    // One more unprofiled job and the share drops below the cap: selection resumes.
    window.record(40_500, 100, 0);
    expect(decideAt(40_500)).toBe(true);
    // And once the burst leaves the window, overhead is back to zero.
    expect(window.overheadPct(70_000)).toBe(0);
  });
});

describe('overhead window memory', () => {
  it('holds one entry a second however many jobs finish, and sums them exactly', () => {
    const window = new ProfilingOverheadWindow(60_000);
    // 100,000 jobs finishing over five seconds, in clock order as Date.now() gives them.
    for (let job = 0; job < 100_000; job++) window.record(1_000 + job * 0.05, 10, job % 100 === 0 ? 5 : 0);
    expect(window.size).toBeLessThanOrEqual(6);
    // 1,000 profiled jobs × 5 ms over 100,000 jobs × 10 ms = 0.5%.
    expect(window.overheadPct(6_000)).toBeCloseTo(0.5, 9);
  });
});
