import { UnrecoverableError } from 'bullmq';
import type { z } from 'zod';
import { describeIssues } from '../contracts/validation';
import type { QueueName } from '../contracts/queues';
import { traceCarrierSchema, type TraceCarrier } from '../contracts/trace-carrier';

/**
 * A job whose data breaks its queue's contract. An UnrecoverableError, so BullMQ fails it once
 * (retrying cannot fix the data) with the field-by-field reason, and it stays inspectable; its own
 * name, so the span and logs say what went wrong (`error.type` in Datadog).
 */
export class InvalidJobDataError extends UnrecoverableError {
  constructor(queue: QueueName, issues: z.ZodError) {
    super(`invalid ${queue} job data: ${describeIssues(issues)}`);
    this.name = 'InvalidJobDataError';
  }
}

export type CheckedJobData<T> = { ok: true; data: T } | { ok: false; error: InvalidJobDataError; carrier?: TraceCarrier };

/**
 * A job's data checked against its queue's contract. Anything can write to Redis. When the data
 * is invalid, its trace carrier is still read on its own, so the rejection can be recorded in the
 * producer's trace when the producer sent a usable one.
 */
export function checkJobData<S extends z.ZodType>(schema: S, queue: QueueName, data: unknown): CheckedJobData<z.output<S>> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, data: parsed.data };
  const carrier = traceCarrierSchema.safeParse((data as { trace?: unknown } | null | undefined)?.trace);
  return { ok: false, error: new InvalidJobDataError(queue, parsed.error), ...(carrier.success ? { carrier: carrier.data } : {}) };
}
