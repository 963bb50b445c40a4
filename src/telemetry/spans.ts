import {
  context,
  createContextKey,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  INVALID_SPAN_CONTEXT,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { isValidSpanContext } from './trace-context';
import { getTracer } from './tracing';

/**
 * Datadog's span `type`, which picks the service type and icon in its UI. Only the values ragscope's
 * spans need; Datadog knows more (`web`, `http`, `cache`, ...).
 */
export type DatadogSpanType = 'sql' | 'worker' | 'queue' | 'custom';

/** dd-trace turns this span attribute into the span's `type` field (it is not kept as a tag). */
export const SPAN_TYPE_ATTRIBUTE = 'span.type';

/** A consumer span runs a job (`worker`), a producer span enqueues one (`queue`); the rest is `custom`. */
export function spanType(kind: SpanKind | undefined, explicit?: DatadogSpanType): DatadogSpanType {
  if (explicit) return explicit;
  if (kind === SpanKind.CONSUMER) return 'worker';
  if (kind === SpanKind.PRODUCER) return 'queue';
  return 'custom';
}

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /** Datadog span type; default from `kind` (see spanType). */
  type?: DatadogSpanType;
  /** Parent context; default = the active one. */
  parent?: Context;
  /**
   * For a span that starts a trace: ragscope's sampling decision. `false` makes an unsampled trace
   * context (ids, sampled flag off) so children and the worker across the queue record nothing.
   */
  sampled?: boolean;
}

/** Whether the span context in `parent` carries an explicit "not sampled" decision. */
function isUnsampled(parent: Context): boolean {
  const spanContext = trace.getSpanContext(parent);
  // The flag first, then the ids: their check is remembered per span context (see isValidSpanContext).
  return Boolean(spanContext && (spanContext.traceFlags & TraceFlags.SAMPLED) === 0 && isValidSpanContext(spanContext));
}

/** The hex digits of a random UUID, without its dashes (slices: a regular expression per id showed in profiles). */
function uuidHex(uuid: string, digits: 16 | 32): string {
  const first16 = uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(14, 18);
  return digits === 16 ? first16 : first16 + uuid.slice(19, 23) + uuid.slice(24);
}

function unsampledRoot(active: Context): Context {
  // randomUUID draws from a cached entropy pool: far cheaper per job than randomBytes, still unique.
  return trace.setSpanContext(active, {
    traceId: uuidHex(randomUUID(), 32),
    spanId: uuidHex(randomUUID(), 16),
    traceFlags: TraceFlags.NONE,
    isRemote: false,
  });
}

/**
 * Runs `work` inside an active span that records a thrown error (exception event + error status)
 * and always ends. Every ragscope span goes through here so errors are recorded the same way.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T> | T): Promise<T> {
  const active = context.active();
  if (active.getValue(SPANS_SUPPRESSED) === true) {
    // Inside withoutSpans: the enclosing span stays active and nothing new is recorded.
    return work(trace.wrapSpanContext(trace.getSpanContext(active) ?? INVALID_SPAN_CONTEXT));
  }
  if (options.sampled === undefined && options.parent === undefined && isUnsampled(active)) {
    // A child in a dropped trace (nine jobs in ten at the default rate): nothing to record, and the
    // active context already carries the trace ids its logs and children need, so no new context
    // is entered either (each context switch goes through dd-trace's context manager).
    return work(trace.getSpan(active) ?? trace.wrapSpanContext(trace.getSpanContext(active)!));
  }
  const parent = options.sampled === false ? unsampledRoot(active) : (options.parent ?? active);
  // A root this worker just dropped needs no check: its ids are fresh and its flag is off.
  if (options.sampled === false || isUnsampled(parent)) {
    // Dropped traces cost nothing past this check: no span objects, nothing exported.
    const span = trace.wrapSpanContext(trace.getSpanContext(parent)!);
    return context.with(trace.setSpan(parent, span), () => Promise.resolve(work(span)));
  }
  const tracer = getTracer();
  const run = async (span: Span): Promise<T> => {
    try {
      return await work(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  };
  const attributes = { ...options.attributes, [SPAN_TYPE_ATTRIBUTE]: spanType(options.kind, options.type) };
  return tracer.startActiveSpan(name, { attributes, kind: options.kind }, parent, run);
}

export function recordError(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

const SPANS_SUPPRESSED = createContextKey('ragscope.spans_suppressed');

/**
 * Runs `work` with span recording off for everything inside: for loops that would otherwise make
 * thousands of spans (a leak check's iterations), where the enclosing span tells the story.
 *
 * A flag in the context, checked by inSpan, rather than an unsampled span made active: dd-trace's
 * context manager hands back the active Datadog span whatever non-recording span the OTel context
 * holds, so new spans would still become its children. Custom context keys do survive it.
 */
export function withoutSpans<T>(work: () => Promise<T>): Promise<T> {
  return context.with(context.active().setValue(SPANS_SUPPRESSED, true), work);
}
