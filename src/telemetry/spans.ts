import { SpanStatusCode, type Attributes, type Context, type Span, type SpanKind } from '@opentelemetry/api';
import { getTracer } from './tracing';

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /** Parent context; default = the active one. */
  parent?: Context;
}

/**
 * Runs `work` inside an active span that records a thrown error (exception event + error status)
 * and always ends. Every ragscope span goes through here so errors are recorded the same way.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T> | T): Promise<T> {
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
  const spanOptions = { attributes: options.attributes, kind: options.kind };
  return options.parent
    ? tracer.startActiveSpan(name, spanOptions, options.parent, run)
    : tracer.startActiveSpan(name, spanOptions, run);
}

export function recordError(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}
