import pino, { type Logger } from 'pino';
import { trace } from '@opentelemetry/api';

export type { Logger };

/**
 * Datadog correlates a log line with a trace through `dd.trace_id` / `dd.span_id` in decimal, the
 * lower 64 bits of the OTel ids.
 */
function correlationFields(): Record<string, unknown> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext) return {};
  return {
    dd: {
      trace_id: BigInt(`0x${spanContext.traceId.slice(-16)}`).toString(10),
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
