import { SpanKind } from '@opentelemetry/api';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { ragQueryDataSchema, describeIssues, type RagQueryResult } from '../src/queue/contracts';
import { QUEUES } from '../src/queue/names';
import { runRagPipeline, type PipelineOptions } from '../src/pipeline/pipeline';
import { inSpan } from '../src/telemetry/spans';
import { activeTraceId, extractTraceContext } from '../src/telemetry/trace-context';
import { userIdTag } from '../src/telemetry/span-tags';

export interface RagQueryProcessorOptions extends PipelineOptions {
  redactUserIds: boolean;
  logger: Logger;
}

/**
 * The `rag-query` processor: validate (a foreign producer may have written anything), then run the
 * pipeline inside `rag.job`, a child of the producer's `rag.enqueue` when the job carries one.
 */
export function createRagQueryProcessor(options: RagQueryProcessorOptions) {
  return async (job: Job): Promise<RagQueryResult> => {
    const parsed = ragQueryDataSchema.safeParse(job.data);
    if (!parsed.success) {
      const reason = `invalid ${QUEUES.ragQuery} job data: ${describeIssues(parsed.error)}`;
      options.logger.warn({ jobId: job.id, queue: QUEUES.ragQuery, reason }, 'rejected invalid job');
      // Unrecoverable: retrying cannot fix the data, so the job fails once and stays inspectable.
      throw new UnrecoverableError(reason);
    }
    const data = parsed.data;
    const enqueuedAt = data.enqueuedAt ? Date.parse(data.enqueuedAt) : job.timestamp;

    return inSpan(
      'rag.job',
      {
        kind: SpanKind.CONSUMER,
        parent: extractTraceContext(data.trace),
        attributes: {
          'messaging.system': 'bullmq',
          'messaging.destination.name': QUEUES.ragQuery,
          'job.id': job.id ?? '',
          'job.attempt': job.attemptsMade + 1,
          'job.queue_wait_ms': Math.max(0, Date.now() - enqueuedAt),
          'user.id': userIdTag(data.userId, options.redactUserIds),
          'query.length': data.query.length,
          'query.top_k': data.topK,
        },
      },
      async (span) => {
        const result = await runRagPipeline(data, options);
        span.setAttribute('result.sources', result.sources.length);
        return { ...result, traceId: activeTraceId() };
      },
    );
  };
}
