import { z } from 'zod';

/** version-traceid-spanid-flags, lower-case hex, as W3C Trace Context level 1 defines it. */
export const TRACEPARENT_PATTERN = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** W3C trace context as it travels in job data (`data.trace`), so any producer can join a trace. */
export const traceCarrierSchema = z
  .object({
    traceparent: z.string().regex(TRACEPARENT_PATTERN, {
      message: 'must be a W3C traceparent like 00-<32 hex>-<16 hex>-01',
    }),
    tracestate: z.string().max(512).optional(),
  })
  .strict();

export type TraceCarrier = z.infer<typeof traceCarrierSchema>;
