import type { Logger } from 'pino';
import type { RagscopeConfig } from '../src/config/config';
import type { QueueName } from '../src/contracts/queues';
import { createWorkerRuntime, type WorkerRuntime } from '../src/worker/runtime';
import { configuredPipeline, preparePipeline } from '../src/worker/start-worker';

export interface StartWorkersOptions {
  concurrency?: number;
  /** Queues to consume (default: rag-query and leak-check), for dedicated worker pools. */
  queues?: QueueName[];
  /** Path of the pipeline module (default RAGSCOPE_PIPELINE, else ragscope's sample module). */
  pipeline?: string;
}

/** Entry point of a worker process: the worker runtime around the configured pipeline module. */
export async function startWorkers(config: RagscopeConfig, logger: Logger, options: StartWorkersOptions = {}): Promise<WorkerRuntime> {
  const openPipeline = await preparePipeline(configuredPipeline(config, options.pipeline), config, logger);
  return createWorkerRuntime(config, logger, { concurrency: options.concurrency, queues: options.queues, openPipeline });
}
