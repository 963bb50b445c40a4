import type { BuildSourceMaps } from '../telemetry/profiling/source-maps';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { leakCheckDataSchema } from '../contracts/leak-check';
import { ragQueryDataSchema, type RagQueryData } from '../contracts/rag-query';
import { QUEUES } from '../contracts/queues';
import { runLeakCheck } from '../memory/leak-check-run';
import type { JobPipeline } from '../pipeline/job-pipeline';
import { retainInLeakyCache } from '../pipeline/leak-plant';
import type { ExclusiveGate } from '../telemetry/profiling/exclusive-gate';
import { userIdTag } from '../telemetry/span-tags';
import { consumerProcessor } from './consumer-span';
import { runProfiledWhenSelected, type ProfiledRunDeps } from './profiled-run';

const DEFAULT_LEAK_CHECK_QUERY = 'How should Redis be configured so a job queue never loses jobs?';

export interface RagQueryProcessorOptions extends ProfiledRunDeps {
  redactUserIds: boolean;
  logQueries: boolean;
  logger: Logger;
  /** Decides traces that start here (jobs enqueued without a carrier). */
  sampleNewTrace: (job: Job) => boolean | Promise<boolean>;
}

/**
 * The `rag-query` processor: the pipeline inside `rag.job`, a child of the producer's
 * `rag.enqueue` when the job carries one, CPU-profiled when the profiling policy selects it.
 */
export function createRagQueryProcessor(options: RagQueryProcessorOptions) {
  return consumerProcessor({
    queue: QUEUES.ragQuery,
    spanName: 'rag.job',
    schema: ragQueryDataSchema,
    logger: options.logger,
    sampleNewTrace: options.sampleNewTrace,
    attributes: (data, job) => {
      const enqueuedAt = data.enqueuedAt ? Date.parse(data.enqueuedAt) : job.timestamp;
      return {
        'job.queue_wait_ms': Math.max(0, Date.now() - enqueuedAt),
        'user.id': userIdTag(data.userId, options.redactUserIds),
        'query.length': data.query.length,
        'query.top_k': data.topK,
      };
    },
    work: async (data, job, span) => {
      // Query text and user ids are personal data: logged only when RAGSCOPE_LOG_QUERIES=1.
      options.logger.debug(
        { jobId: job.id, queryLength: data.query.length, ...(options.logQueries ? { query: data.query, userId: data.userId } : {}) },
        'rag-query job started',
      );
      const result = await runProfiledWhenSelected(job, data, span, options);
      span.setAttribute('result.sources', result.sources.length);
      return result;
    },
  });
}

export interface LeakCheckProcessorOptions {
  pipeline: JobPipeline;
  logger: Logger;
  gate: ExclusiveGate;
  memoryProfilingEnabled: boolean;
  sourceMapper?: BuildSourceMaps;
  /** How heap-profile files are reported (the pipeline's own files relative to its project root). */
  resolveFile?: (file: string) => string;
}

/**
 * The `leak-check` processor: the pipeline run `iterations` times under the leak-check run, inside
 * `rag.leak_check`. Each iteration holds the worker's exclusive gate, since a neighbour's
 * allocations would be measured as its own; between iterations the gate lets waiting jobs through.
 */
export function createLeakCheckProcessor(options: LeakCheckProcessorOptions) {
  return consumerProcessor({
    queue: QUEUES.leakCheck,
    spanName: 'rag.leak_check',
    schema: leakCheckDataSchema,
    logger: options.logger,
    attributes: (data) => ({ 'leak_check.iterations': data.iterations, 'leak_check.retain_leak': data.retainLeak }),
    work: async (data, job, span) => {
      // The process-wide planted bottleneck stays out of leak checks: they measure memory, not time.
      const input: RagQueryData = { query: data.query ?? DEFAULT_LEAK_CHECK_QUERY, userId: 'leak-check', topK: 5, profile: 'never', plantBottleneck: false };
      const result = await runLeakCheck({
        iterations: data.iterations,
        iterate: async (iteration) => {
          const output = await options.pipeline.run(input, { job: { id: `${job.id}:${iteration}`, attempt: job.attemptsMade + 1 } });
          if (data.retainLeak) {
            retainInLeakyCache(`${job.id}:${iteration}`, output, [output.answer, ...output.sources.map((source) => source.title ?? source.id)]);
          }
        },
        onSample: (sample) => job.updateProgress(sample),
        memoryProfilingEnabled: options.memoryProfilingEnabled,
        sourceMapper: options.sourceMapper,
        resolveFile: options.resolveFile,
        runAlone: (work) => options.gate.exclusive(work),
      });
      span.setAttributes({
        'leak_check.growth_mb': result.growthMb,
        'leak_check.kb_per_iteration': result.growthKbPerIteration,
        'leak_check.leak_detected': result.leakDetected,
      });
      if (result.leakDetected) span.addEvent('leak detected', { verdict: result.verdict });
      return result;
    },
  });
}
