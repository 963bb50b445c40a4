import type { PlanFinding } from '../contracts/plan-finding';
import type { RagQueryResult } from '../contracts/rag-query';
import type { PlanRequest, StatementPlan } from '../pipeline/job-pipeline';
import { inSpan } from '../telemetry/spans';
import type { RecentPlans } from './plan-reuse';

export interface StatementPlans {
  findings: PlanFinding[];
  plans: NonNullable<RagQueryResult['plans']>;
  /** Findings of the plans taken now (reused ones were counted when they were taken). */
  newFindings: PlanFinding[];
}

export interface PlanOptions {
  recent: RecentPlans<StatementPlan>;
  /** A sampled profile: a recent plan of the same statement is reported instead of planning it again. */
  reuse: boolean;
  now?: () => number;
}

/**
 * Plans the statements a profiled job asked for, one `sql.explain` span each (a child of the job's
 * span: EXPLAIN ANALYZE is a second execution and its time shows as such in the trace). Returns
 * every finding, or undefined when no plan could be taken or reused: a plan is a diagnostic, and
 * failing to capture one never fails the job.
 */
export async function planStatements(requests: readonly PlanRequest[], options: PlanOptions): Promise<StatementPlans | undefined> {
  const now = options.now ?? Date.now;
  const result: StatementPlans = { findings: [], plans: [], newFindings: [] };
  for (const request of requests) {
    const recent = options.reuse ? options.recent.reusable(request.statement, now()) : undefined;
    if (recent) {
      result.findings.push(...recent.plan.findings);
      result.plans.push({ statement: request.statement, plannedAt: new Date(recent.plannedAtMs).toISOString(), reused: true });
      continue;
    }
    await inSpan('sql.explain', { attributes: { 'db.statement': request.statement }, type: 'sql' }, async (span) => {
      try {
        const plannedAtMs = now();
        const plan = await request.explain();
        span.setAttributes({
          'db.plan.node_type': plan.nodeType,
          'db.plan.rows': plan.rows,
          'db.plan.execution_ms': plan.executionMs,
          'db.plan.findings': plan.findings.length,
        });
        options.recent.remember(request.statement, plan, plannedAtMs);
        result.findings.push(...plan.findings);
        result.newFindings.push(...plan.findings);
        result.plans.push({ statement: request.statement, plannedAt: new Date(plannedAtMs).toISOString(), reused: false });
      } catch (error) {
        span.addEvent('explain failed', { 'exception.message': (error as Error).message });
      }
    });
  }
  return result.plans.length > 0 ? result : undefined;
}
