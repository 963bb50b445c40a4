/**
 * Which jobs get a CPU profile. Pure: the worker feeds it the job's request, a random draw and
 * the measured overhead; no clocks or I/O here.
 */

import type { ProfileMode } from '../../contracts/rag-query';

export interface ProfilingPolicy {
  /** Share of `auto` jobs profiled, in percent (DD_PROFILING_CAPTURE_PCT, default 1). */
  capturePct: number;
  /** ragscope's overhead cap: profiling time / job time, in percent (DD_PROFILING_MAX_TIME_USAGE_PCT, default 5). */
  maxTimeUsagePct: number;
  /** DD_PROFILING_CPU_ENABLED=false turns per-job CPU profiles off altogether. */
  cpuEnabled: boolean;
}

export interface ProfilingRequest {
  mode: ProfileMode;
  /** A uniform draw in [0, 1). */
  random: number;
  /** Profiling overhead over the recent window, in percent of job time. */
  overheadPct: number;
  /** A previous run of the same job (a retry or a repeat) was slower than the slow-job threshold. */
  previouslySlow: boolean;
  /** Why the profiler cannot run now (e.g. the continuous profiler holds it), if it cannot. */
  unavailableReason?: string;
}

/** What selected a profiled job: somebody asked, an earlier run was slow, or the capture rate. */
export type ProfileTrigger = 'requested' | 'slow' | 'sampled';

/** A profiled decision always names its trigger; `sampled` (nobody asked, nothing was slow) lets its SQL plans be reused. */
export type ProfilingDecision =
  | { profile: true; reason: string; trigger: ProfileTrigger }
  | { profile: false; reason: string; trigger?: undefined };

export function decideProfiling(policy: ProfilingPolicy, request: ProfilingRequest): ProfilingDecision {
  if (request.mode === 'never') return { profile: false, reason: 'the job asked for no profile' };
  if (!policy.cpuEnabled) return { profile: false, reason: 'CPU profiling is disabled (DD_PROFILING_CPU_ENABLED=false)' };
  if (request.unavailableReason) return { profile: false, reason: request.unavailableReason };
  // An explicit request is honoured even above the cap: somebody is looking at this job right now.
  if (request.mode === 'always') return { profile: true, trigger: 'requested', reason: 'the job asked for a profile' };
  if (request.overheadPct >= policy.maxTimeUsagePct) {
    return {
      profile: false,
      reason: `profiling overhead ${request.overheadPct.toFixed(1)}% is at or above the ${policy.maxTimeUsagePct}% cap`,
    };
  }
  if (request.previouslySlow) return { profile: true, trigger: 'slow', reason: 'an earlier run of this job was slow' };
  if (request.random < policy.capturePct / 100) return { profile: true, trigger: 'sampled', reason: `sampled at the ${policy.capturePct}% capture rate` };
  return { profile: false, reason: `not sampled at the ${policy.capturePct}% capture rate` };
}

/**
 * Profiling time against the worker's CPU time over a sliding window, so a burst of profiled jobs
 * pushes the overhead over the cap and, once it ages out of the window, selection resumes by itself.
 * CPU time, not the sum of job durations: with N jobs at once, durations add up to N times the time
 * that passed, and a 5% cap on them let profiling take about N × 5% of the CPU (11% measured at
 * concurrency 2). Records are summed per second, so memory stays at one entry a second whatever the
 * job rate.
 */
export class ProfilingOverheadWindow {
  private readonly seconds: Array<{ second: number; cpuMs: number; profilingMs: number }> = [];

  constructor(private readonly windowMs = 5 * 60_000) {}

  /** @param cpuMs CPU time the worker used since its previous record, profiling included */
  record(atMs: number, cpuMs: number, profilingMs: number): void {
    const second = Math.floor(atMs / 1000);
    const last = this.seconds.at(-1);
    if (last && last.second === second) {
      last.cpuMs += cpuMs;
      last.profilingMs += profilingMs;
    } else {
      this.seconds.push({ second, cpuMs, profilingMs });
    }
    this.expire(atMs);
  }

  overheadPct(nowMs: number): number {
    this.expire(nowMs);
    let cpuMs = 0;
    let profilingMs = 0;
    for (const entry of this.seconds) {
      cpuMs += entry.cpuMs;
      profilingMs += entry.profilingMs;
    }
    return cpuMs > 0 ? (profilingMs / cpuMs) * 100 : 0;
  }

  /** Entries held: at most one a second of the window. */
  get size(): number {
    return this.seconds.length;
  }

  private expire(nowMs: number): void {
    while (this.seconds.length > 0 && this.seconds[0]!.second * 1000 <= nowMs - this.windowMs) this.seconds.shift();
  }
}
