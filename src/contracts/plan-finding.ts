import { z } from 'zod';

/** `high` = very likely why the query is slow, `warning` = worth fixing, `info` = context, never a problem on its own. */
export const FINDING_SEVERITIES = ['high', 'warning', 'info'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

/** Stable ids: scripts and the `ragscope_sql_findings_total{rule}` metric key on them. */
export const PLAN_RULE_IDS = [
  'row-misestimate',
  'filter-discards',
  'seq-scan-needs-index',
  'sort-spill',
  'hash-spill',
  'hash-agg-spill',
  'heap-fetches',
  'lossy-bitmap',
  'nested-loop-explosion',
  'low-cache-hit',
  'hot-node',
] as const;
export type PlanRuleId = (typeof PLAN_RULE_IDS)[number];

/** What a plan rule saw at one node of an EXPLAIN ANALYZE plan, with the numbers that made it fire. */
export const planFindingSchema = z.object({
  rule: z.enum(PLAN_RULE_IDS),
  severity: z.enum(FINDING_SEVERITIES),
  /** Pre-order number of the node, 1 = the top node (pgMustard and pev2 number operations so too). */
  nodeId: z.number(),
  /** Node labels from the top, e.g. `Limit > Sort > Seq Scan on documents`. */
  nodePath: z.string(),
  nodeType: z.string(),
  relation: z.string().optional(),
  /** The measurements the rule compared with its thresholds, loop-adjusted. */
  numbers: z.record(z.string(), z.number()),
  message: z.string(),
  suggestion: z.string(),
});
export type PlanFinding = z.infer<typeof planFindingSchema>;
