import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type RagscopeConfig } from '../config/config';
import { isUserError } from '../contracts/errors';
import type { QueueName } from '../contracts/queues';
import { createLogger } from '../log';
import type { PipelineDefinition } from '../pipeline/define-pipeline';
import type { JobPipeline } from '../pipeline/job-pipeline';
import { loadPipelineModule, PipelineModuleError, samplePipelineModule } from '../pipeline/load-pipeline';
import { openDefinedPipeline } from '../pipeline/pipeline-runner';
import { initTracing } from '../telemetry/tracing';
import { createWorkerRuntime, type WorkerRuntime } from './runtime';

/** A pipeline to run: its definition, or the path of a module exporting one. */
export type PipelineSpec = PipelineDefinition<any> | string; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A pipeline ready to open: a module is loaded now (a missing or broken module fails before any
 * connection is made), its setup runs when the runtime opens it.
 */
export async function preparePipeline(spec: PipelineSpec, config: RagscopeConfig, logger: Logger): Promise<() => Promise<JobPipeline>> {
  const loaded =
    typeof spec === 'string' ? await loadPipelineModule(spec) : { definition: spec, modulePath: undefined, sourceRoot: process.cwd() };
  const where = loaded.modulePath ? ` (${loaded.modulePath})` : '';
  return async () => {
    try {
      return await openDefinedPipeline(loaded.definition, {
        config,
        logger,
        sourceRoot: loaded.sourceRoot,
        sourceMapDir: loaded.modulePath ? path.dirname(loaded.modulePath) : undefined,
      });
    } catch (error) {
      // A service that is down is already explained; anything else thrown by the user's setup is named as such.
      if (isUserError(error)) throw error;
      throw new PipelineModuleError(`pipeline "${loaded.definition.name}"${where} failed in setup: ${(error as Error)?.message ?? String(error)}`);
    }
  };
}

/** The pipeline a worker process runs: --pipeline, else RAGSCOPE_PIPELINE, else ragscope's sample module. */
export function configuredPipeline(config: Pick<RagscopeConfig, 'pipeline'>, flag?: string): string {
  return flag ?? config.pipeline ?? samplePipelineModule();
}

export interface StartWorkerOptions {
  /** The pipeline: what definePipeline() returned, or the path of a module exporting it. */
  pipeline: PipelineSpec;
  /** rag-query jobs processed at once (default RAGSCOPE_WORKER_CONCURRENCY). */
  concurrency?: number;
  /** Queues to consume (default: rag-query and leak-check). */
  queues?: QueueName[];
  /** Where the configuration is read from (default process.env): the same variables as `ragscope worker`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default: ragscope's JSON logger on stderr at RAGSCOPE_LOG_LEVEL. */
  logger?: Logger;
}

export interface RunningWorker {
  /** Key of this process's heap series (what the heap scheduler reports on). */
  workerId: string;
  /** Stops taking jobs, lets active ones finish, closes the pipeline and every connection. */
  close(): Promise<void>;
}

/**
 * ragscope's worker machinery around a pipeline, from a team's own code instead of the CLI: tracing,
 * per-job profiling, slow-job auto-profiling, leak checks, the heap recorder and job metrics.
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const config = loadConfig(options.env ?? process.env);
  initTracing(config);
  const logger = options.logger ?? createLogger(config.logLevel, 'ragscope-worker');
  const openPipeline = await preparePipeline(options.pipeline, config, logger);
  const runtime: WorkerRuntime = await createWorkerRuntime(config, logger, { openPipeline, concurrency: options.concurrency, queues: options.queues });
  return { workerId: runtime.workerId, close: () => runtime.close() };
}
