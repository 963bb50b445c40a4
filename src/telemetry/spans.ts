import {
  context,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { getTracer } from './tracing';

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
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
  return Boolean(spanContext && trace.isSpanContextValid(spanContext) && (spanContext.traceFlags & TraceFlags.SAMPLED) === 0);
}

function unsampledRoot(): Context {
  // randomUUID draws from a cached entropy pool: far cheaper per job than randomBytes, still unique.
  const traceId = randomUUID().replace(/-/g, '');
  return trace.setSpanContext(context.active(), {
    traceId,
    spanId: randomUUID().replace(/-/g, '').slice(0, 16),
    traceFlags: TraceFlags.NONE,
    isRemote: false,
  });
}

/**
 * Runs `work` inside an active span that records a thrown error (exception event + error status)
 * and always ends. Every ragscope span goes through here so errors are recorded the same way.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T> | T): Promise<T> {
  const parent = options.sampled === false ? unsampledRoot() : (options.parent ?? context.active());
  if (isUnsampled(parent)) {
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
  return tracer.startActiveSpan(name, { attributes: options.attributes, kind: options.kind }, parent, run);
}

export function recordError(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/**
 * Runs `work` with tracing off for everything inside: for loops that would otherwise make
 * thousands of spans (a leak check's iterations), where the enclosing span tells the story.
 */
export function withoutSpans<T>(work: () => Promise<T>): Promise<T> {
  const parent = unsampledRoot();
  return context.with(trace.setSpan(parent, trace.wrapSpanContext(trace.getSpanContext(parent)!)), work);
}
