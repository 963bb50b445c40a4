import type { Attributes, Span } from '@opentelemetry/api';
import { z } from 'zod';
import type { RagQueryData } from '../contracts/rag-query';
import type { Logger } from '../log';
import type { PipelineSql } from './traced-sql';

/**
 * The library face of ragscope: a team's own RAG code, written as a `definePipeline` module, runs
 * under ragscope's worker with every capability the sample pipeline has (ragscope's sample is such
 * a module too, src/pipeline/sample-pipeline.ts).
 */

/** What a pipeline's `setup` receives: resources for the whole life of the worker. */
export interface PipelineSetupContext {
  /** Traced SQL on the configured database (DATABASE_URL, else embedded PGlite), opened on first use. */
  readonly sql: PipelineSql;
  /** The worker's logger (pino), with `pipeline` bound. */
  readonly logger: Logger;
  /** Aborted when the worker shuts down. */
  readonly signal: AbortSignal;
}

/** What `run` receives besides the job's input. */
export interface PipelineContext<State = unknown> extends PipelineSetupContext {
  /** What `setup` returned (undefined without a `setup`). */
  readonly state: State;
  /** The BullMQ job: its id, and which attempt this is (1 for the first). Leak checks name theirs `<job>:<iteration>`. */
  readonly job: { readonly id: string; readonly attempt: number };
  /**
   * Runs `work` as one stage of the job: a `rag.<name>` span, child of `rag.job`, and an entry in the
   * result's `stages` with its duration (and the `ragscope_stage_duration_seconds{stage}` metric).
   */
  stage<T>(name: string, work: (span: Span) => Promise<T> | T): Promise<T>;
  stage<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T> | T): Promise<T>;
}

export interface PipelineSource {
  id: string;
  title?: string;
  score?: number;
}

/** What `run` must return; anything else it returns is dropped. */
export interface PipelineOutput {
  answer: string;
  sources: PipelineSource[];
}

export interface PipelineDefinition<State = unknown> {
  /** Shown in the worker's logs and on every `rag.job` span (`pipeline.name`). */
  readonly name: string;
  /** Once, before the worker takes jobs: open clients, load indexes. What it returns is `ctx.state`. */
  setup?(ctx: PipelineSetupContext): Promise<State> | State;
  /** One `rag-query` job (and one leak-check iteration): `input` is the validated job data. */
  run(input: RagQueryData, ctx: PipelineContext<State>): Promise<PipelineOutput> | PipelineOutput;
  /** Once, at shutdown, after the last job; ctx.sql is closed after it. */
  close?(state: State): Promise<void> | void;
}

/** A registry symbol, so a pipeline made against one installed copy of ragscope is known to another. */
const PIPELINE_BRAND = Symbol.for('ragscope.pipeline');

export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Declares a pipeline for `ragscope worker --pipeline <module>` (its default export or an export named
 * `pipeline`) or for `startWorker({ pipeline })`. Checks the shape at once, so a mistake shows where it was made.
 */
export function definePipeline<State = undefined>(definition: PipelineDefinition<State>): PipelineDefinition<State> {
  if (typeof definition !== 'object' || definition === null) throw new TypeError('definePipeline() expects an object { name, setup?, run, close? }');
  if (typeof definition.name !== 'string' || !PIPELINE_NAME_PATTERN.test(definition.name)) {
    throw new TypeError('definePipeline(): name must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  for (const hook of ['setup', 'run', 'close'] as const) {
    const value = definition[hook];
    if ((hook === 'run' || value !== undefined) && typeof value !== 'function') {
      throw new TypeError(`definePipeline(): ${hook} must be a function${hook === 'run' ? '' : ' when given'}`);
    }
  }
  return Object.freeze(Object.defineProperty({ ...definition }, PIPELINE_BRAND, { value: true, enumerable: false }));
}

export function isPipelineDefinition(value: unknown): value is PipelineDefinition<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PIPELINE_BRAND] === true;
}

/** The checked shape of `run`'s return value: a wrong one fails the job with the field named. */
export const pipelineOutputSchema = z.object(
  {
    answer: z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') }),
    sources: z.array(
      z.object({
        id: z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') }),
        title: z.string({ error: 'must be a string when given' }).optional(),
        score: z.number({ error: 'must be a finite number when given' }).finite().optional(),
      }),
      { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array of { id, title?, score? }') },
    ),
  },
  { error: 'must be an object { answer, sources }' },
);
