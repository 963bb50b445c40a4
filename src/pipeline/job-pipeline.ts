import type { RagQueryData, RagQueryResult } from '../contracts/rag-query';

export type PipelineResult = Omit<RagQueryResult, 'traceId' | 'profiling' | 'hotspots' | 'profilePath'>;

export interface PipelineRunOptions {
  /**
   * Also capture EXPLAIN ANALYZE of the pipeline's SQL (run again, in a rolled-back read-only
   * transaction) and return the findings. Costs a second execution, so only profiled jobs ask.
   */
  explainSql: boolean;
}

/**
 * What a worker runs for each rag-query job (and each leak-check iteration): the pipeline with
 * whatever it opened at start-up. The worker's machinery (tracing, profiling, leak checks) sees
 * only this, so it is the same for every pipeline.
 */
export interface JobPipeline {
  readonly name: string;
  /** Where the pipeline's SQL runs, safe to print; absent when it has none. */
  readonly database?: string;
  run(data: RagQueryData, options: PipelineRunOptions): Promise<PipelineResult>;
  close(): Promise<void>;
}
