import type { PlanFinding } from '../contracts/plan-finding';
import type { RagQueryData, RagQueryResult } from '../contracts/rag-query';

export type PipelineResult = Omit<RagQueryResult, 'traceId' | 'profiling' | 'hotspots' | 'profilePath' | 'findings'>;

/** A statement's plan as a job reports it. */
export interface StatementPlan {
  nodeType: string;
  rows: number;
  executionMs: number;
  findings: PlanFinding[];
}

/** A SQL statement a run wants planned: the pipeline knows its SQL client, the worker knows when. */
export interface PlanRequest {
  statement: string;
  explain(): Promise<StatementPlan>;
}

export interface PipelineRunOptions {
  /**
   * Receives the read statements a run wants planned. EXPLAIN ANALYZE executes a statement again
   * (in a rolled-back read-only transaction), so only profiled jobs pass this, and they run the
   * plans after their profile has stopped: inside it, the second execution would be charged to the
   * job's own hotspots (on PGlite, under load, it out-weighed the planted O(n²) rerank).
   */
  requestPlan?: (request: PlanRequest) => void;
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
  /** Where the pipeline's own source maps are looked for (its module's folder, node_modules skipped). */
  readonly sourceMapDir?: string;
  run(data: RagQueryData, options: PipelineRunOptions): Promise<PipelineResult>;
  /** Aborts `ctx.signal`: the worker is shutting down (active jobs still finish or stop early). */
  abort?(): void;
  close(): Promise<void>;
}
