import { describe, expect, it } from 'vitest';
import { describeProfiles, parseWorkerFigures } from '../../bench/worker-metrics';

const EXPOSITION = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_cpu_user_seconds_total 10
# HELP ragscope_job_profiles_total Per-job CPU profiles this process took.
# TYPE ragscope_job_profiles_total counter
ragscope_job_profiles_total{trigger="sampled"} 12
ragscope_job_profiles_total{trigger="slow"} 1
# TYPE ragscope_job_profiling_cpu_seconds_total counter
ragscope_job_profiling_cpu_seconds_total 0.6125
`;

describe('bench/worker-metrics', () => {
  it("reads a worker's CPU and what its per-job profiles cost", () => {
    expect(parseWorkerFigures(EXPOSITION)).toEqual({ cpuSeconds: 12.5, profiles: { sampled: 12, slow: 1 }, profilingCpuSeconds: 0.6125 });
  });

  it('a worker that took no profile has none, charged nothing', () => {
    expect(parseWorkerFigures('process_cpu_seconds_total 3\nragscope_job_profiling_cpu_seconds_total 0\n')).toEqual({
      cpuSeconds: 3,
      profiles: {},
      profilingCpuSeconds: 0,
    });
  });

  it('refuses an exposition without the process CPU', () => {
    expect(() => parseWorkerFigures('ragscope_jobs_total{queue="rag-query",status="completed"} 4\n')).toThrow(/process_cpu_seconds_total/);
  });

  it('describes profiles in all and by trigger', () => {
    expect(describeProfiles({ sampled: 12, slow: 1 })).toBe('13 (sampled 12, slow 1)');
    expect(describeProfiles({})).toBe('0');
  });
});
