import { heap, type SourceMapper } from '@datadog/pprof';
import type { LeakCheckProgress, LeakCheckResult } from '../contracts/leak-check';
import { withoutSpans } from '../telemetry/spans';
import { sourceFileResolver } from '../telemetry/profiling/job-profiler';
import { topGrowingSites } from './allocation-diff';
import { evaluateLeakCheck } from './leak-check-verdict';
import { PostGcHeapReader } from './post-gc-heap';

/** Sampling heap profiler resolution: one sample per 64 KB allocated on average. */
const HEAP_SAMPLE_INTERVAL_BYTES = 64 * 1024;
const HEAP_STACK_DEPTH = 64;
/** Allocation sites reported. */
const TOP_SITES = 5;

export interface LeakCheckRunOptions {
  iterations: number;
  /** The work under test, once; run `iterations` times (any pipeline, or any function). */
  iterate: (iteration: number) => Promise<void>;
  /** Called after each reading, e.g. to report job progress. */
  onSample?: (sample: LeakCheckProgress) => Promise<void>;
  /** Heap-profile attribution of the growth (DD_PROFILING_MEMORY_ENABLED). */
  memoryProfilingEnabled: boolean;
  /** Maps compiled positions back to sources in the heap profiles. */
  sourceMapper?: SourceMapper;
}

export type LeakCheckRunResult = Omit<LeakCheckResult, 'traceId'>;

/**
 * A leak check: run `iterate` again and again and read the post-GC heap after each run, forcing a
 * full GC first so the trend is of live memory only; judge the readings (leak-check-verdict) and
 * diff two sampling heap profiles, start and end, to name the allocation sites that grew. The
 * iterations make no spans: thousands of them would drown the trace the caller's span tells.
 * Whatever else runs in this isolate is measured too, so the caller runs this alone.
 */
export async function runLeakCheck(options: LeakCheckRunOptions): Promise<LeakCheckRunResult> {
  const reader = new PostGcHeapReader({ forceGc: true });
  const attribution = startHeapProfiling(options.memoryProfilingEnabled);
  try {
    const before = attribution.ok ? heap.profile(undefined, options.sourceMapper) : undefined;
    const samples: LeakCheckProgress[] = [];
    await withoutSpans(async () => {
      for (let iteration = 1; iteration <= options.iterations; iteration++) {
        await options.iterate(iteration);
        const sample = { iteration, heapUsedMb: reader.read().heapUsedMb };
        samples.push(sample);
        await options.onSample?.(sample);
      }
    });
    const verdict = evaluateLeakCheck(samples);
    const sites = before
      ? topGrowingSites(before, heap.profile(undefined, options.sourceMapper), { top: TOP_SITES, resolveFile: sourceFileResolver(options.sourceMapper) })
      : [];
    return {
      samples,
      ...verdict,
      topGrowingSites: sites,
      ...(attribution.ok ? {} : { attributionUnavailable: attribution.reason }),
    };
  } finally {
    if (attribution.ok && attribution.startedHere) heap.stop();
    reader.close();
  }
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
