import { context, propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';

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

/** The producer's context to parent the job span on; absent carrier = a new trace. */
export function extractTraceContext(carrier: TraceCarrier | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { ...carrier });
}

/** Trace id of the span active in `activeContext`, if any (32 hex characters). */
export function activeTraceId(activeContext: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(activeContext);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
