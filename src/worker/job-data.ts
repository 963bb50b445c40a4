import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { describeIssues } from '../contracts/validation';
import type { QueueName } from '../contracts/queues';

/**
 * A job's data checked against its queue's contract. Anything can write to Redis, so a job that
 * breaks the contract fails with UnrecoverableError: retrying cannot fix the data, so it fails once,
 * with the field-by-field reason, and stays inspectable.
 */
export function parseJobData<S extends z.ZodType>(schema: S, queue: QueueName, job: Job, logger: Logger): z.output<S> {
  const parsed = schema.safeParse(job.data);
  if (parsed.success) return parsed.data;
  const reason = `invalid ${queue} job data: ${describeIssues(parsed.error)}`;
  logger.warn({ jobId: job.id, queue, reason }, 'rejected invalid job');
  throw new UnrecoverableError(reason);
}
