import { trace, type Context, type Span } from '@opentelemetry/api';

/**
 * What Datadog expects on the wire that dd-trace's OpenTelemetry bridge (5.x) does not produce
 * from OTel spans, applied to every span when it starts. Pure rules first, then the span processor
 * that applies them to dd-trace's span behind the bridge.
 */

/** Datadog's trace tag carrying the upper 64 bits of a 128-bit trace id (16 lower-case hex digits). */
export const TRACE_ID_HIGH_TAG = '_dd.p.tid';
/** Marks a span whose parent is not in this process: Datadog's trace metrics (hits, errors, latency) count these. */
export const TOP_LEVEL_METRIC = '_dd.top_level';
export const MEASURED_METRIC = '_dd.measured';

/** The upper 64 bits of a 32-hex trace id, or undefined when they are zero (a 64-bit id). */
export function traceIdHigh(traceId: string): string | undefined {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return undefined;
  const high = traceId.slice(0, 16);
  return /^0+$/.test(high) ? undefined : high;
}

/**
 * Upper 64 bits for a trace this process starts, in the form Datadog's tracers use: the start
 * time in seconds (32 bits) followed by 32 zero bits. The lower 64 bits stay random.
 */
export function generatedTraceIdHigh(nowMs: number): string {
  return Math.floor(nowMs / 1000).toString(16).padStart(8, '0').padEnd(16, '0');
}

/** dd-trace's span and span context, as far as ragscope touches them (dd-trace 5.x internals). */
interface DatadogSpanLike {
  context(): {
    _traceId: { toString(radix?: number): string };
    _trace: { tags: Record<string, unknown> };
  };
  tracer(): { _traceId128BitGenerationEnabled?: boolean };
  setTag(key: string, value: unknown): unknown;
}

/**
 * Where a new span's parent lives: none (a new trace), a span of this process (dd-trace's bridge
 * span context carries `_ddContext`), or a context that came in a carrier.
 */
function parentOrigin(parentContext: Context): 'none' | 'local' | 'remote' {
  const parent = trace.getSpanContext(parentContext);
  if (!parent || !trace.isSpanContextValid(parent)) return 'none';
  return '_ddContext' in parent ? 'local' : 'remote';
}

/**
 * An OpenTelemetry span processor for dd-trace's TracerProvider. dd-trace's OTel bridge:
 * - keeps only the lower 64 bits of a foreign 128-bit trace id on the wire (it adds no
 *   `_dd.p.tid`), and starts its own traces with 64-bit ids although its native API makes
 *   128-bit ones (DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED, on by default);
 * - writes `_dd.p.tid` only on the first span of a chunk, so one span read alone has half an id;
 * - marks a span top-level only when it has no parent at all, so a worker span continuing a
 *   producer's trace counts zero hits in Datadog's trace metrics.
 * This processor fixes all three on the dd-trace span before any child starts or any carrier is
 * injected, so the trace id ragscope reports (results, logs, `trace`) is the one Datadog shows.
 */
export class DatadogConventionsProcessor {
  constructor(private readonly now: () => number = Date.now) {}

  onStart(span: Span, parentContext: Context): void {
    const ddSpan = (span as unknown as { _ddSpan?: DatadogSpanLike })._ddSpan;
    if (!ddSpan) return;
    const origin = parentOrigin(parentContext);
    const traceTags = ddSpan.context()._trace.tags;
    if (origin !== 'local' && traceTags[TRACE_ID_HIGH_TAG] === undefined) {
      const high =
        origin === 'remote'
          ? traceIdHigh(ddSpan.context()._traceId.toString(16).padStart(32, '0'))
          : ddSpan.tracer()._traceId128BitGenerationEnabled === false
            ? undefined
            : generatedTraceIdHigh(this.now());
      if (high) traceTags[TRACE_ID_HIGH_TAG] = high;
    }
    if (origin === 'remote') {
      // Its parent is in another process (the producer): the entry span of this service here.
      ddSpan.setTag(TOP_LEVEL_METRIC, 1);
      ddSpan.setTag(MEASURED_METRIC, 1);
    }
    const high = traceTags[TRACE_ID_HIGH_TAG];
    if (typeof high === 'string') ddSpan.setTag(TRACE_ID_HIGH_TAG, high);
  }

  onEnd(_span: Span): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
