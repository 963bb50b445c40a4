import pino, { type Logger } from 'pino';
import { trace } from '@opentelemetry/api';

export type { Logger };

/**
 * The trace id as Datadog's log correlation expects it in `dd.trace_id`: the 32-hex id when the
 * trace id is 128-bit (as dd-trace logs it with DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED, the
 * default), the lower 64 bits in decimal when the upper half is zero.
 */
export function logTraceId(traceId: string): string {
  return /^0{16}/.test(traceId) ? BigInt(`0x${traceId.slice(-16)}`).toString(10) : traceId;
}

/** Datadog correlates a log line with a span through `dd.trace_id` and `dd.span_id` (decimal). */
function correlationFields(): Record<string, unknown> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
  return {
    dd: {
      trace_id: logTraceId(spanContext.traceId),
      span_id: BigInt(`0x${spanContext.spanId}`).toString(10),
    },
  };
}

/**
 * Logs go to stderr as JSON lines so stdout stays for command output (`--json` results, reports).
 */
export function createLogger(level: string, name = 'ragscope'): Logger {
  return pino({ name, level, mixin: correlationFields }, pino.destination({ fd: 2, sync: true }));
}
