import type { Attributes, Span } from '@opentelemetry/api';
import { UnrecoverableError } from 'bullmq';
import type { RagscopeConfig } from '../config/config';
import type { StageTiming } from '../contracts/stage-timing';
import { describeIssues } from '../contracts/validation';
import { openSqlClient } from '../db/sql-client';
import type { Logger } from '../log';
import { inSpan, type DatadogSpanType, SPAN_TYPE_ATTRIBUTE } from '../telemetry/spans';
import { pipelineOutputSchema, type PipelineContext, type PipelineDefinition, type PipelineSetupContext } from './define-pipeline';
import type { JobPipeline, PipelineResult } from './job-pipeline';
import { tracedSqlClient, withSqlRunScope, type SqlRunScope } from './traced-sql';

/**
 * A job whose pipeline returned something other than `{ answer, sources }`. Unrecoverable: the same
 * input through the same code returns the same wrong shape, so BullMQ fails it once, with the field named.
 */
export class PipelineResultError extends UnrecoverableError {
  constructor(pipeline: string, reason: string) {
    super(`pipeline "${pipeline}" returned an invalid result: ${reason}`);
    this.name = 'PipelineResultError';
  }
}

export interface OpenPipelineOptions {
  config: Pick<RagscopeConfig, 'databaseUrl'> & Partial<Pick<RagscopeConfig, 'explainRole'>>;
  logger: Logger;
  /** The folder profiles report the pipeline's own files relative to (its project root). */
  sourceRoot?: string;
  /** Where the pipeline's source maps are (its module's folder). */
  sourceMapDir?: string;
}

const SPAN_TYPES: ReadonlySet<string> = new Set<DatadogSpanType>(['sql', 'worker', 'queue', 'custom']);

/**
 * Runs a `definePipeline` definition's setup and wraps it as the JobPipeline the worker machinery
 * runs: per job a context (stages, traced SQL, logger, signal, job), the result checked, stage
 * timings added, SQL reads handed on to be planned. The sample pipeline goes through here like any user's.
 */
export async function openDefinedPipeline<State>(definition: PipelineDefinition<State>, options: OpenPipelineOptions): Promise<JobPipeline> {
  const sql = tracedSqlClient(options.config.databaseUrl ? 'server' : 'pglite', () => openSqlClient(options.config), {
    ...(options.config.explainRole ? { role: options.config.explainRole } : {}),
  });
  const shutdown = new AbortController();
  const logger = options.logger.child({ pipeline: definition.name });
  const setupContext: PipelineSetupContext = { sql, logger, signal: shutdown.signal };
  let state: State;
  try {
    state = (await definition.setup?.(setupContext)) as State;
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw error;
  }

  return {
    name: definition.name,
    get database() {
      return sql.description();
    },
    sourceRoot: options.sourceRoot,
    sourceMapDir: options.sourceMapDir,
    run: async (data, runOptions) => {
      const stages: StageTiming[] = [];
      const scope: SqlRunScope = { requestPlan: runOptions.requestPlan };
      // Made on first use: most runs never log, and a pino child per job showed in the worker's profile.
      let jobLogger: Logger | undefined;
      // Fields listed, not spread: a spread with a getter made this object cost ~2 µs a job, 0.4 listed.
      const context: PipelineContext<State> = {
        sql: setupContext.sql,
        signal: setupContext.signal,
        get logger() {
          return (jobLogger ??= logger.child({ jobId: runOptions.job.id }));
        },
        state,
        job: runOptions.job,
        stage: <T>(name: string, ...rest: [(span: Span) => Promise<T> | T] | [Attributes, (span: Span) => Promise<T> | T]) => {
          const [attributes, work] = rest.length === 1 ? [{}, rest[0]] : rest;
          return runStage(name, attributes, work, stages);
        },
      };
      const output = await withSqlRunScope(scope, async () => definition.run(data, context));
      const checked = pipelineOutputSchema.safeParse(output);
      if (!checked.success) throw new PipelineResultError(definition.name, describeIssues(checked.error));
      const result: PipelineResult = { answer: checked.data.answer, sources: checked.data.sources, stages };
      return result;
    },
    close: async () => {
      shutdown.abort();
      try {
        await definition.close?.(state);
      } finally {
        await sql.close();
      }
    },
    abort: () => shutdown.abort(),
  };
}

async function runStage<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T> | T, stages: StageTiming[]): Promise<T> {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('ctx.stage(name, …): name must be a non-empty string');
  if (typeof work !== 'function') throw new TypeError(`ctx.stage("${name}", …): the last argument must be a function`);
  const requestedType = attributes[SPAN_TYPE_ATTRIBUTE];
  const type = typeof requestedType === 'string' && SPAN_TYPES.has(requestedType) ? (requestedType as DatadogSpanType) : undefined;
  return inSpan(`rag.${name}`, { attributes, type }, async (span) => {
    const startedAt = performance.now();
    try {
      return await work(span);
    } finally {
      stages.push({ name, durationMs: Math.round((performance.now() - startedAt) * 100) / 100 });
    }
  });
}
