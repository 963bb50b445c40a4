/**
 * ragscope as a library (`require('ragscope')`, `import … from 'ragscope'`): define a pipeline, run
 * ragscope's worker around it, enqueue jobs. Kept small on purpose; everything else is internal.
 */
export { definePipeline } from './pipeline/define-pipeline';
export type {
  PipelineContext,
  PipelineDefinition,
  PipelineOutput,
  PipelineSetupContext,
  PipelineSource,
} from './pipeline/define-pipeline';
export type { PipelineSql } from './pipeline/traced-sql';
export { startWorker } from './worker/start-worker';
export type { RunningWorker, StartWorkerOptions } from './worker/start-worker';
export { RagscopeProducer, JobFailedError, WaitTimeoutError } from './queue/producer';
export type { EnqueuedJob, ProducerConfig } from './queue/producer';
export { loadConfig } from './config/config';
export type { RagscopeConfig } from './config/config';
export { QUEUES } from './contracts/queues';
export type { RagQueryData, RagQueryInput, RagQueryResult } from './contracts/rag-query';
export type { LeakCheckInput, LeakCheckResult } from './contracts/leak-check';
export { UserError, ValidationError, ConfigError, ServiceUnavailableError, QueueFullError } from './contracts/errors';
