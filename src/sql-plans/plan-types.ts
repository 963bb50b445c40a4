/**
 * The shape of `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` output, as far as the rules read it. Field
 * names are PostgreSQL's own. Per-loop fields (Actual Rows, Actual Total Time, Rows Removed by …)
 * are averages over Actual Loops; counters such as Heap Fetches, Lossy Heap Blocks and the buffer
 * counts are totals over all loops (PostgreSQL 15 to 18 alike).
 */
export interface PlanNode {
  'Node Type': string;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  'Parallel Aware'?: boolean;
  'Relation Name'?: string;
  Schema?: string;
  Alias?: string;
  'Index Name'?: string;
  'CTE Name'?: string;
  'Function Name'?: string;
  'Join Type'?: string;
  Strategy?: string;
  'Partial Mode'?: string;
  Operation?: string;
  'Plan Rows'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Actual Startup Time'?: number;
  'Actual Total Time'?: number;
  Filter?: string;
  'Join Filter'?: string;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  'Hash Cond'?: string;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Sort Key'?: string[];
  'Sort Method'?: string;
  'Sort Space Used'?: number;
  'Sort Space Type'?: string;
  'Group Key'?: string[];
  'Hash Batches'?: number;
  'Original Hash Batches'?: number;
  'Peak Memory Usage'?: number;
  'Disk Usage'?: number;
  'HashAgg Batches'?: number;
  'Planned Partitions'?: number;
  'Heap Fetches'?: number;
  'Exact Heap Blocks'?: number;
  'Lossy Heap Blocks'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  'Workers Planned'?: number;
  'Workers Launched'?: number;
  /** Per-worker details of a parallel node (sort and hash-aggregate spills show up here). */
  Workers?: WorkerDetail[];
  Plans?: PlanNode[];
  [field: string]: unknown;
}

export interface WorkerDetail {
  'Worker Number'?: number;
  'Sort Method'?: string;
  'Sort Space Used'?: number;
  'Sort Space Type'?: string;
  'HashAgg Batches'?: number;
  'Disk Usage'?: number;
  'Peak Memory Usage'?: number;
  [field: string]: unknown;
}

/** One element of the JSON array EXPLAIN returns. */
export interface ExplainOutput {
  Plan: PlanNode;
  'Planning Time'?: number;
  'Execution Time'?: number;
  [field: string]: unknown;
}
