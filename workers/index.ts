import type { Logger } from 'pino';
import type { RagscopeConfig } from '../src/config/config';
import type { QueueName } from '../src/contracts/queues';
import { openSamplePipeline } from '../src/pipeline/pipeline';
import { createWorkerRuntime, type WorkerRuntime } from '../src/worker/runtime';

export interface StartWorkersOptions {
  concurrency?: number;
  /** Queues to consume (default: rag-query and leak-check), for dedicated worker pools. */
  queues?: QueueName[];
}

/** Entry point of a worker process: the worker runtime around the pipeline. */
export function startWorkers(config: RagscopeConfig, logger: Logger, options: StartWorkersOptions = {}): Promise<WorkerRuntime> {
  return createWorkerRuntime(config, logger, { ...options, openPipeline: () => openSamplePipeline(config) });
}
