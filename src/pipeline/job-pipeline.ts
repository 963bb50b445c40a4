import type { RagQueryData, RagQueryResult } from '../contracts/rag-query';

export type PipelineResult = Omit<RagQueryResult, 'traceId' | 'profiling' | 'hotspots' | 'profilePath'>;

export interface PipelineRunOptions {
  /**
   * Also capture EXPLAIN ANALYZE of the pipeline's SQL (run again, in a rolled-back read-only
   * transaction) and return the findings. Costs a second execution, so only profiled jobs ask.
   */
  explainSql: boolean;
  /** The job this run is for (`ctx.job`). */
  job: { id: string; attempt: number };
}

/**
 * What a worker runs for each rag-query job (and each leak-check iteration): a `definePipeline`
 * definition after its setup (pipeline-runner.ts). The worker's machinery (tracing, profiling, leak
 * checks) sees only this, so it is the same for every pipeline.
 */
export interface JobPipeline {
  readonly name: string;
  /** Where the pipeline's SQL runs, safe to print; absent when it has none (yet). */
  readonly database?: string;
  /** The pipeline's project root: profiles report its files relative to it. */
  readonly sourceRoot?: string;
  run(data: RagQueryData, options: PipelineRunOptions): Promise<PipelineResult>;
  /** Aborts `ctx.signal`: the worker is shutting down (active jobs still finish or stop early). */
  abort?(): void;
  close(): Promise<void>;
}
