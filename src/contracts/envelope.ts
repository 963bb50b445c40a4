import { traceCarrierSchema } from './trace-carrier';
import { isoDateTime } from './validation';

/** What ragscope's producer adds to every job's data besides the caller's fields. */
export const envelopeFields = {
  /** The producer's span context, so the worker's span joins the trace. */
  trace: traceCarrierSchema.optional(),
  /** When the job was enqueued: queue wait is measured from here. */
  enqueuedAt: isoDateTime().optional(),
};
