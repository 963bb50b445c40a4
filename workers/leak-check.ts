import { heap, type SourceMapper } from '@datadog/pprof';
import { SpanKind } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { parseJobData } from './job-data';
import type { Logger } from 'pino';
import { leakCheckDataSchema, type LeakCheckProgress, type LeakCheckResult } from '../src/contracts/leak-check';
import { QUEUES } from '../src/contracts/queues';
import { runRagPipeline, type PipelineOptions } from '../src/pipeline/pipeline';
import { retainInLeakyCache } from '../src/pipeline/leak-plant';
import { PostGcHeapReader } from '../src/memory/post-gc-heap';
import { topGrowingSites } from '../src/memory/allocation-diff';
import { evaluateLeakCheck } from '../src/memory/leak-check-verdict';
import { inSpan, withoutSpans } from '../src/telemetry/spans';
import { activeTraceId, extractTraceContext } from '../src/telemetry/trace-context';
import { compiledToSource } from '../src/telemetry/profiling/job-profiler';
import type { ExclusiveGate } from '../src/telemetry/profiling/exclusive-gate';

/** Sampling heap profiler resolution: one sample per 64 KB allocated on average. */
const HEAP_SAMPLE_INTERVAL_BYTES = 64 * 1024;
const HEAP_STACK_DEPTH = 64;
const DEFAULT_LEAK_CHECK_QUERY = 'How should Redis be configured so a job queue never loses jobs?';

export interface LeakCheckProcessorOptions extends PipelineOptions {
  logger: Logger;
  gate: ExclusiveGate;
  memoryProfilingEnabled: boolean;
  sourceMapper?: SourceMapper;
}

/**
 * The `leak-check` processor: run the pipeline `iterations` times and watch the post-GC heap. It
 * holds the worker's exclusive gate, since a neighbour's allocations would be measured as its own,
 * and forces a full GC before each reading so the trend is of live memory only.
 */
export function createLeakCheckProcessor(options: LeakCheckProcessorOptions) {
  return async (job: Job): Promise<LeakCheckResult> => {
    const data = parseJobData(leakCheckDataSchema, QUEUES.leakCheck, job, options.logger);
    return inSpan(
      'rag.leak_check',
      {
        kind: SpanKind.CONSUMER,
        parent: extractTraceContext(data.trace),
        attributes: { 'job.id': job.id ?? '', 'leak_check.iterations': data.iterations, 'leak_check.retain_leak': data.retainLeak },
      },
      (span) =>
        options.gate.exclusive(async () => {
          const sampler = new PostGcHeapReader({ forceGc: true });
          const attribution = startHeapProfiling(options.memoryProfilingEnabled);
          try {
            const before = attribution.ok ? heap.profile(undefined, options.sourceMapper) : undefined;
            const samples: LeakCheckProgress[] = [];
            const query = data.query ?? DEFAULT_LEAK_CHECK_QUERY;
            await withoutSpans(async () => {
              for (let iteration = 1; iteration <= data.iterations; iteration++) {
                const result = await runRagPipeline({ query, topK: 5 }, options);
                if (data.retainLeak) {
                  retainInLeakyCache(`${job.id}:${iteration}`, result, [result.answer, ...result.sources.map((source) => source.title)]);
                }
                const { heapUsedMb } = sampler.read();
                samples.push({ iteration, heapUsedMb });
                await job.updateProgress({ iteration, heapUsedMb });
              }
            });
            const verdict = evaluateLeakCheck(samples);
            const sites = before ? topGrowingSites(before, heap.profile(undefined, options.sourceMapper), { top: 5, resolveFile: compiledToSource }) : [];
            span.setAttributes({
              'leak_check.growth_mb': verdict.growthMb,
              'leak_check.kb_per_iteration': verdict.growthKbPerIteration,
              'leak_check.leak_detected': verdict.leakDetected,
            });
            if (verdict.leakDetected) span.addEvent('leak detected', { verdict: verdict.verdict });
            return {
              samples,
              ...verdict,
              topGrowingSites: sites,
              ...(attribution.ok ? {} : { attributionUnavailable: attribution.reason }),
              traceId: activeTraceId(),
            };
          } finally {
            if (attribution.ok && attribution.startedHere) heap.stop();
            sampler.close();
          }
        }),
    );
  };
}

type Attribution = { ok: true; startedHere: boolean } | { ok: false; reason: string };

/** The sampling heap profiler, unless memory profiling is off or dd-trace holds it with other settings. */
function startHeapProfiling(enabled: boolean): Attribution {
  if (!enabled) return { ok: false, reason: 'memory profiling is disabled (DD_PROFILING_MEMORY_ENABLED=false)' };
  try {
    heap.start(HEAP_SAMPLE_INTERVAL_BYTES, HEAP_STACK_DEPTH);
    return { ok: true, startedHere: true };
  } catch (error) {
    // Already started by the continuous profiler with its own settings: use it as it is.
    try {
      heap.profile();
      return { ok: true, startedHere: false };
    } catch {
      return { ok: false, reason: `the heap profiler could not start: ${(error as Error).message}` };
    }
  }
}
