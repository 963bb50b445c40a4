import { context, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';

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

/** Trace id of the span active in `activeContext`, if any (32 hex characters). */
export function activeTraceId(activeContext: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(activeContext);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
