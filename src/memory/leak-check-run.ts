import { heap } from '@datadog/pprof';
import type { BuildSourceMaps } from '../telemetry/profiling/source-maps';
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
  sourceMapper?: BuildSourceMaps;
  /**
   * Runs `work` with nothing else of this process running (a worker's exclusive gate): one
   * iteration and its reading at a time, never the whole check, so jobs sharing the process run
   * between iterations. Absent: the caller runs nothing else alongside.
   */
  runAlone?: <T>(work: () => Promise<T>) => Promise<T>;
  /** How files are reported (default: relative to ragscope's root, see sourceFileResolver). */
  resolveFile?: (file: string) => string;
}

export type LeakCheckRunResult = Omit<LeakCheckResult, 'traceId'>;

/**
 * A leak check: run `iterate` again and again and read the post-GC heap after each run, forcing a
 * full GC first so the trend is of live memory only; judge the readings (leak-check-verdict) and
 * diff two sampling heap profiles, start and end, to name the allocation sites that grew. The
 * iterations make no spans: thousands of them would drown the trace the caller's span tells.
 *
 * Whatever else runs in this isolate is measured too, so each iteration with its reading (and each
 * heap profile) runs alone (`runAlone`), and the check yields to the event loop between iterations:
 * jobs of a mixed worker run in between and wait for one iteration at most, not for the whole
 * check (a 1,000-iteration check held queries for all of its 33-199 s before). Their garbage is
 * collected by the GC forced before the next reading, so they do not show up as growth.
 */
export async function runLeakCheck(options: LeakCheckRunOptions): Promise<LeakCheckRunResult> {
  const alone = options.runAlone ?? (<T>(work: () => Promise<T>) => work());
  const reader = new PostGcHeapReader({ forceGc: true });
  const attribution = startHeapProfiling(options.memoryProfilingEnabled);
  const profile = () => heap.profile(undefined, options.sourceMapper?.forPprof());
  try {
    const before = attribution.ok ? await alone(async () => profile()) : undefined;
    let after: ReturnType<typeof profile> | undefined;
    const samples: LeakCheckProgress[] = [];
    await withoutSpans(async () => {
      for (let iteration = 1; iteration <= options.iterations; iteration++) {
        const sample = await alone(async () => {
          await options.iterate(iteration);
          const reading = { iteration, heapUsedMb: reader.read().heapUsedMb };
          // The end profile right after the last post-GC reading, before anyone else allocates.
          if (before && iteration === options.iterations) after = profile();
          return reading;
        });
        samples.push(sample);
        await options.onSample?.(sample);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    });
    const verdict = evaluateLeakCheck(samples);
    const sites = before && after ? topGrowingSites(before, after, { top: TOP_SITES, resolveFile: options.resolveFile ?? sourceFileResolver(options.sourceMapper) }) : [];
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
