import { context, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context, type SpanContext } from '@opentelemetry/api';

import type { TraceCarrier } from '../contracts/trace-carrier';

export type { TraceCarrier };

/** The active span's context as a carrier, or undefined when nothing is being traced. */
export function injectTraceCarrier(activeContext: Context = context.active()): TraceCarrier | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(activeContext, carrier);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/**
 * The producer's context to parent the job span on; absent carrier = a new trace.
 *
 * Only the sampled bit of the trace flags is kept. W3C level 2 defines more bits (OpenTelemetry
 * Python sends `03`: sampled + random), and dd-trace's OTel bridge takes the flags byte as the
 * Datadog sampling priority, so `03` would be exported as priority 3, which Datadog does not know.
 */
export function extractTraceContext(carrier: TraceCarrier | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  const extracted = propagation.extract(ROOT_CONTEXT, { ...carrier });
  const spanContext = trace.getSpanContext(extracted);
  if (!spanContext || spanContext.traceFlags === (spanContext.traceFlags & TraceFlags.SAMPLED)) return extracted;
  return trace.setSpanContext(extracted, { ...spanContext, traceFlags: spanContext.traceFlags & TraceFlags.SAMPLED });
}

/**
 * Span contexts already found valid. One context is checked again at every stage and statement of
 * a job in a dropped trace (nine in ten at the default rate), and each check of
 * trace.isSpanContextValid runs two regular expressions: 11 µs of a 4.9 ms job in a CPU profile of
 * a worker whose traces were all dropped. Weak, so a context is forgotten with its trace.
 */
const validSpanContexts = new WeakSet<SpanContext>();

/** trace.isSpanContextValid, remembered per span context object (ids do not change once made). */
export function isValidSpanContext(spanContext: SpanContext): boolean {
  if (validSpanContexts.has(spanContext)) return true;
  if (!trace.isSpanContextValid(spanContext)) return false;
  validSpanContexts.add(spanContext);
  return true;
}

/** Trace id of the span active in `activeContext`, if any (32 hex characters). */
export function activeTraceId(activeContext: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(activeContext);
  return spanContext && isValidSpanContext(spanContext) ? spanContext.traceId : undefined;
}
