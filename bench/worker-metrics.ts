/**
 * Figures a bench reads off a worker's own `/metrics` (RAGSCOPE_METRICS_PORT): its CPU time and
 * what per-job profiling cost it. Parsing is pure and unit-tested; `readWorkerMetrics` fetches.
 */

export interface WorkerFigures {
  /** process_cpu_seconds_total: user + system CPU of the worker process. */
  cpuSeconds: number;
  /** ragscope_job_profiles_total, by trigger (requested, slow, sampled). */
  profiles: Record<string, number>;
  /** ragscope_job_profiling_cpu_seconds_total: what the overhead cap was charged. */
  profilingCpuSeconds: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? ([^ ]+)(?: \d+)?$/;

export function parseWorkerFigures(exposition: string): WorkerFigures {
  const figures: WorkerFigures = { cpuSeconds: Number.NaN, profiles: {}, profilingCpuSeconds: 0 };
  for (const line of exposition.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const [, name, labels = '', text] = match;
    const value = Number(text);
    if (name === 'process_cpu_seconds_total') figures.cpuSeconds = value;
    else if (name === 'ragscope_job_profiling_cpu_seconds_total') figures.profilingCpuSeconds = value;
    else if (name === 'ragscope_job_profiles_total') {
      const trigger = /trigger="([^"]*)"/.exec(labels)?.[1] ?? '';
      figures.profiles[trigger] = (figures.profiles[trigger] ?? 0) + value;
    }
  }
  if (Number.isNaN(figures.cpuSeconds)) throw new Error('no process_cpu_seconds_total in the exposition');
  return figures;
}

export async function readWorkerFigures(metricsUrl: string): Promise<WorkerFigures> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`${metricsUrl} answered ${response.status}`);
  return parseWorkerFigures(await response.text());
}

/** "13 (sampled 12, slow 1)": profiles in all, then by trigger. */
export function describeProfiles(profiles: Record<string, number>): string {
  const entries = Object.entries(profiles).filter(([, count]) => count > 0);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return entries.length === 0 ? '0' : `${total} (${entries.map(([trigger, count]) => `${trigger} ${count}`).join(', ')})`;
}
