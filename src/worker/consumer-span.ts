import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { QueueName } from '../contracts/queues';
import type { TraceCarrier } from '../contracts/trace-carrier';
import { inSpan } from '../telemetry/spans';
import { activeTraceId, extractTraceContext } from '../telemetry/trace-context';
import { checkJobData } from './job-data';

export interface ConsumerOptions<S extends z.ZodType, R> {
  queue: QueueName;
  /** The span every job of this queue runs in (`rag.job`, `rag.leak_check`). */
  spanName: string;
  schema: S;
  logger: Logger;
  /** What this queue adds to the span's attributes. */
  attributes?: (data: z.output<S>, job: Job) => Attributes;
  /**
   * For jobs that carry no trace context, and so start their trace here: whether to keep it.
   * Absent = keep every trace that starts here.
   */
  sampleNewTrace?: (job: Job) => boolean | Promise<boolean>;
  work: (data: z.output<S>, job: Job, span: Span) => Promise<R>;
}

/**
 * The prologue every processor shares: the job's data checked against its contract, then a
 * CONSUMER span that is a child of the producer's span when the job carries its trace context
 * (`data.trace`), with the messaging attributes, the job id and the attempt. The result gets the
 * trace id, so a user can go from a job to its trace.
 *
 * A job that breaks the contract gets the same span, ended in error (`error.type`
 * InvalidJobDataError, the reason as `error.message`), so a broken producer shows in APM: in the
 * producer's trace when its carrier is valid, in a trace of its own when not.
 */
export function consumerProcessor<S extends z.ZodType<{ trace?: TraceCarrier }>, R extends object>(options: ConsumerOptions<S, R>) {
  const consumerSpan = <T>(job: Job, carrier: TraceCarrier | undefined, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> => {
    const sampled = carrier || !options.sampleNewTrace ? undefined : options.sampleNewTrace(job);
    // Usually decided synchronously: then the job pays no promise for its sampling decision.
    return typeof sampled === 'object' ? sampled.then((decided) => start(decided)) : start(sampled);
    function start(decided: boolean | undefined): Promise<T> {
      return inSpan(
        options.spanName,
        {
          kind: SpanKind.CONSUMER,
          parent: extractTraceContext(carrier),
          sampled: decided,
          attributes: {
            'messaging.system': 'bullmq',
            'messaging.destination.name': options.queue,
            'job.id': job.id ?? '',
            'job.attempt': job.attemptsMade + 1,
            ...attributes,
          },
        },
        work,
      );
    }
  };

  return async (job: Job): Promise<R & { traceId?: string }> => {
    const checked = checkJobData(options.schema, options.queue, job.data);
    if (!checked.ok) {
      return consumerSpan(job, checked.carrier, {}, async () => {
        // Logged inside the span, so the line carries the trace id of the failed job.
        options.logger.warn({ jobId: job.id, queue: options.queue, reason: checked.error.message }, 'rejected invalid job');
        throw checked.error;
      });
    }
    const data = checked.data;
    return consumerSpan(job, data.trace, options.attributes?.(data, job) ?? {}, async (span) => ({
      ...(await options.work(data, job, span)),
      traceId: activeTraceId(),
    }));
  };
}
