import { SpanKind, type Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { parseJobData } from './job-data';
import type { Logger } from 'pino';
import type { ProfilingConfig } from '../src/config/config';
import { ragQueryDataSchema, type RagQueryData, type RagQueryResult } from '../src/contracts/rag-query';
import { QUEUES } from '../src/contracts/queues';
import { runRagPipeline, type PipelineOptions } from '../src/pipeline/pipeline';
import { inSpan } from '../src/telemetry/spans';
import { activeTraceId, extractTraceContext } from '../src/telemetry/trace-context';
import { userIdTag } from '../src/telemetry/span-tags';
import type { ExclusiveGate } from '../src/telemetry/profiling/exclusive-gate';
import type { JobProfiler } from '../src/telemetry/profiling/job-profiler';
import { decideProfiling, type ProfilingOverheadWindow } from '../src/telemetry/profiling/profiling-policy';
import { SlowJobRegistry } from '../src/queue/slow-jobs';
import type { TraceSampler } from '../src/telemetry/sampling/trace-sampler';
import { processMetrics, type RagscopeMetrics } from '../src/telemetry/metrics';

export interface RagQueryProcessorOptions extends PipelineOptions {
  redactUserIds: boolean;
  logQueries: boolean;
  logger: Logger;
  profiling: ProfilingConfig;
  /** Absent when per-job profiling could not be set up; jobs then run unprofiled. */
  profiler?: JobProfiler;
  overhead: ProfilingOverheadWindow;
  gate: ExclusiveGate;
  slowJobs: SlowJobRegistry;
  /** Decides traces that start here (jobs enqueued without a carrier). */
  sampler: TraceSampler;
  /** The pipeline to run; a stand-in lets bench/queue-throughput measure the queue path alone. */
  pipeline?: typeof runRagPipeline;
  /** Default: the process's own metric set. */
  metrics?: Pick<RagscopeMetrics, 'sqlFindingsTotal'>;
}

/**
 * The `rag-query` processor: validate (a foreign producer may have written anything), then run the
 * pipeline inside `rag.job`, a child of the producer's `rag.enqueue` when the job carries one,
 * CPU-profiled when the profiling policy selects it.
 */
export function createRagQueryProcessor(options: RagQueryProcessorOptions) {
  return async (job: Job): Promise<RagQueryResult> => {
    const data = parseJobData(ragQueryDataSchema, QUEUES.ragQuery, job, options.logger);
    const enqueuedAt = data.enqueuedAt ? Date.parse(data.enqueuedAt) : job.timestamp;
    // Query text and user ids are personal data: logged only when RAGSCOPE_LOG_QUERIES=1.
    options.logger.debug(
      { jobId: job.id, queryLength: data.query.length, ...(options.logQueries ? { query: data.query, userId: data.userId } : {}) },
      'rag-query job started',
    );

    return inSpan(
      'rag.job',
      {
        kind: SpanKind.CONSUMER,
        parent: extractTraceContext(data.trace),
        // A job without a carrier starts its trace here, so the sampling decision is made here.
        sampled: data.trace ? undefined : (await options.sampler.decide()).sampled,
        attributes: {
          'messaging.system': 'bullmq',
          'messaging.destination.name': QUEUES.ragQuery,
          'job.id': job.id ?? '',
          'job.attempt': job.attemptsMade + 1,
          'job.queue_wait_ms': Math.max(0, Date.now() - enqueuedAt),
          'user.id': userIdTag(data.userId, options.redactUserIds),
          'query.length': data.query.length,
          'query.top_k': data.topK,
        },
      },
      async (span) => {
        const result = await runProfiledWhenSelected(job, data, span, options);
        span.setAttribute('result.sources', result.sources.length);
        return { ...result, traceId: activeTraceId() };
      },
    );
  };
}

async function runProfiledWhenSelected(
  job: Job,
  data: RagQueryData,
  span: Span,
  options: RagQueryProcessorOptions,
): Promise<Omit<RagQueryResult, 'traceId'>> {
  // Hashed only when needed: usually no job was slow lately and the registry answers from memory.
  let fingerprintCache: string | undefined;
  const fingerprint = (): string =>
    (fingerprintCache ??= SlowJobRegistry.fingerprint(QUEUES.ragQuery, {
      query: data.query,
      topK: data.topK,
      plantBottleneck: data.plantBottleneck ?? false,
    }));
  const decision = decideProfiling(options.profiling, {
    mode: data.profile,
    random: Math.random(),
    overheadPct: options.overhead.overheadPct(Date.now()),
    previouslySlow: data.profile === 'auto' && (await options.slowJobs.wasSlow(fingerprint)),
    unavailableReason: options.profiler ? options.profiler.unavailableReason() : 'per-job profiling is not available in this worker',
  });
  span.setAttribute('profiling.selected', decision.profile);

  const startedAt = performance.now();
  if (!decision.profile || !options.profiler) {
    const pipeline = options.pipeline ?? runRagPipeline;
    const result = await options.gate.shared(() => pipeline(data, options));
    const durationMs = performance.now() - startedAt;
    options.overhead.record(Date.now(), durationMs, 0);
    if (durationMs > options.profiling.slowJobMs && data.profile === 'auto') await options.slowJobs.markSlow(fingerprint(), durationMs);
    return { ...result, profiling: { profiled: false, reason: decision.reason } };
  }

  const profiler = options.profiler;
  const profiled = await options.gate.exclusive(() =>
    profiler.profile(job.id ?? 'unknown', () => (options.pipeline ?? runRagPipeline)(data, { ...options, explainRetrieve: true })),
  );
  for (const finding of profiled.value.findings ?? []) (options.metrics ?? processMetrics()).sqlFindingsTotal.inc({ rule: finding.rule, severity: finding.severity });
  options.overhead.record(Date.now(), performance.now() - startedAt, profiled.profilingMs);
  await options.slowJobs.forget(fingerprint());
  const top = profiled.hotspots[0];
  if (top) span.setAttributes({ 'profiling.top_function': top.function, 'profiling.top_line': `${top.file}:${top.line}` });
  return {
    ...profiled.value,
    profiling: { profiled: true, reason: decision.reason, overheadMs: profiled.profilingMs },
    hotspots: profiled.hotspots,
    profilePath: profiled.profilePath,
  };
}
