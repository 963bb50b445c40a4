import type { Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { ProfilingConfig } from '../config/config';
import type { RagQueryData, RagQueryResult } from '../contracts/rag-query';
import { QUEUES } from '../contracts/queues';
import type { JobPipeline, PlanRequest, StatementPlan } from '../pipeline/job-pipeline';
import type { RecentPlans } from './plan-reuse';
import { planStatements } from './statement-plans';
import { SlowJobRegistry } from '../queue/slow-jobs';
import type { RagscopeMetrics } from '../telemetry/metrics';
import type { ExclusiveGate } from '../telemetry/profiling/exclusive-gate';
import type { JobProfiler } from '../telemetry/profiling/job-profiler';
import { decideProfiling, type ProfilingOverheadWindow } from '../telemetry/profiling/profiling-policy';

export interface ProfiledRunDeps {
  pipeline: JobPipeline;
  profiling: ProfilingConfig;
  /** Absent when per-job profiling could not be set up; jobs then run unprofiled. */
  profiler?: JobProfiler;
  overhead: ProfilingOverheadWindow;
  /** The worker's CPU time since the previous reading (ms), read at most once a second unless forced: the overhead cap's denominator. */
  cpuSinceLastRecord: (force?: boolean) => number;
  gate: ExclusiveGate;
  slowJobs: SlowJobRegistry;
  metrics: Pick<RagscopeMetrics, 'sqlFindingsTotal' | 'jobProfilesTotal' | 'jobProfilingCpuSecondsTotal'>;
  /** Plans sampled profiles may reuse (RAGSCOPE_PLAN_INTERVAL_SECONDS). */
  recentPlans: RecentPlans<StatementPlan>;
}

/**
 * One rag-query job through the pipeline, CPU-profiled when the profiling policy selects it: the
 * policy decides (pure), this does the I/O around it. A profiled job runs alone in the gate so its
 * samples are its own, and its SQL is EXPLAINed; an unprofiled `auto` job that ran slow is
 * remembered, so its next run is profiled.
 */
export async function runProfiledWhenSelected(
  job: Job,
  data: RagQueryData,
  span: Span,
  deps: ProfiledRunDeps,
): Promise<Omit<RagQueryResult, 'traceId'>> {
  // Hashed only when needed: usually no job was slow lately and the registry answers from memory.
  let fingerprintCache: string | undefined;
  const fingerprint = (): string =>
    (fingerprintCache ??= SlowJobRegistry.fingerprint(QUEUES.ragQuery, {
      query: data.query,
      topK: data.topK,
      plantBottleneck: data.plantBottleneck ?? false,
    }));
  const slow = data.profile === 'auto' ? deps.slowJobs.wasSlow(fingerprint) : false;
  const decision = decideProfiling(deps.profiling, {
    mode: data.profile,
    random: Math.random(),
    overheadPct: deps.overhead.overheadPct(Date.now()),
    previouslySlow: typeof slow === 'boolean' ? slow : await slow,
    unavailableReason: deps.profiler ? deps.profiler.unavailableReason() : 'per-job profiling is not available in this worker',
  });
  span.setAttribute('profiling.selected', decision.profile);

  const runFor = { id: job.id ?? 'unknown', attempt: job.attemptsMade + 1 };
  const startedAt = performance.now();
  if (!decision.profile || !deps.profiler) {
    const result = await deps.gate.shared(() => deps.pipeline.run(data, { job: runFor }));
    const durationMs = performance.now() - startedAt;
    deps.overhead.record(Date.now(), deps.cpuSinceLastRecord(), 0);
    if (durationMs > deps.profiling.slowJobMs && data.profile === 'auto') await deps.slowJobs.markSlow(fingerprint(), durationMs);
    return { ...result, profiling: { profiled: false, reason: decision.reason } };
  }

  const profiler = deps.profiler;
  const planRequests: PlanRequest[] = [];
  const profiled = await deps.gate.exclusive(() =>
    profiler.profile(job.id ?? 'unknown', () => deps.pipeline.run(data, { job: runFor, requestPlan: (request) => planRequests.push(request) })),
  );
  // After the profile: a plan's second execution must not be charged to the job's hotspots. The
  // overhead cap counts the profiler's own cost only, as DD_PROFILING_MAX_TIME_USAGE_PCT does: a
  // plan is bounded by the statement timeout instead, and counting it (on PGlite it runs on a copy
  // of the database, 1-2.5 s of CPU) stopped slow-job profiling for minutes after a single plan.
  // A sampled profile reports a recent plan of the same statement (see plan-reuse.ts). Somebody
  // asking, or a slow job, gets a fresh plan.
  const planned = await planStatements(planRequests, { recent: deps.recentPlans, reuse: decision.trigger === 'sampled' });
  for (const finding of planned?.newFindings ?? []) deps.metrics.sqlFindingsTotal.inc({ rule: finding.rule, severity: finding.severity });
  deps.overhead.record(Date.now(), deps.cpuSinceLastRecord(true), profiled.profilingMs);
  deps.metrics.jobProfilesTotal.inc({ trigger: decision.trigger });
  deps.metrics.jobProfilingCpuSecondsTotal.inc(profiled.profilingMs / 1000);
  await deps.slowJobs.forget(fingerprint());
  const top = profiled.hotspots[0];
  if (top) span.setAttributes({ 'profiling.top_function': top.function, 'profiling.top_line': `${top.file}:${top.line}` });
  return {
    ...profiled.value,
    ...(planned ? { findings: planned.findings, plans: planned.plans } : {}),
    profiling: { profiled: true, reason: decision.reason, overheadMs: profiled.profilingMs },
    hotspots: profiled.hotspots,
    profilePath: profiled.profilePath,
  };
}
