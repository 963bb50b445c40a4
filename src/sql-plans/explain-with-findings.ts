import type { SqlClient } from '../db/sql-client';
import { explainStatement, type CapturedPlan, type ExplainOptions } from './explain-runner';
import { planFindings } from './plan-rules';
import type { PlanFinding } from '../contracts/plan-finding';

export interface ExplainedStatement extends CapturedPlan {
  findings: PlanFinding[];
}

/** The plan of one statement and what the rules find in it: the one entry point for CLI and pipeline. */
export async function explainWithFindings(
  sql: SqlClient,
  statement: string,
  params: unknown[],
  options: ExplainOptions = {},
): Promise<ExplainedStatement> {
  const captured = await explainStatement(sql, statement, params, options);
  return { ...captured, findings: planFindings(captured.plan) };
}
