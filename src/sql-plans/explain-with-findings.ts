import type { SqlClient } from '../db/sql-client';
import { explainStatement, type CapturedPlan, type ExplainOptions } from './explain-runner';
import { existingIndexes } from './existing-indexes';
import { planNodes } from './plan-nodes';
import { planFindings } from './plan-rules';
import type { PlanFinding } from '../contracts/plan-finding';

export interface ExplainedStatement extends CapturedPlan {
  findings: PlanFinding[];
}

/**
 * The plan of one statement and what the rules find in it: the one entry point for the CLI, the
 * sample pipeline and `ctx.sql` of custom pipelines, so every EXPLAIN ragscope runs passes the
 * same checks (explain-runner.ts). Suggestions know the tables' existing indexes.
 */
export async function explainWithFindings(
  sql: SqlClient,
  statement: string,
  params: unknown[],
  options: ExplainOptions = {},
): Promise<ExplainedStatement> {
  const captured = await explainStatement(sql, statement, params, options);
  const relations = [...new Set(planNodes(captured.plan).flatMap((view) => (view.node['Relation Name'] ? [view.node['Relation Name']] : [])))];
  const indexes = await existingIndexes(sql, relations, options.schema);
  return { ...captured, findings: planFindings(captured.plan, { indexes }) };
}
