import type { PlanFinding } from '../contracts/plan-finding';
import type { PlanRequest } from '../pipeline/job-pipeline';
import { inSpan } from '../telemetry/spans';

/**
 * Plans the statements a profiled job asked for, one `sql.explain` span each (a child of the job's
 * span: EXPLAIN ANALYZE is a second execution and its time shows as such in the trace). Returns
 * every finding, or undefined when no plan could be taken: a plan is a diagnostic, and failing to
 * capture one never fails the job.
 */
export async function planStatements(requests: readonly PlanRequest[]): Promise<PlanFinding[] | undefined> {
  let planned = 0;
  const findings: PlanFinding[] = [];
  for (const request of requests) {
    await inSpan('sql.explain', { attributes: { 'db.statement': request.statement }, type: 'sql' }, async (span) => {
      try {
        const plan = await request.explain();
        span.setAttributes({
          'db.plan.node_type': plan.nodeType,
          'db.plan.rows': plan.rows,
          'db.plan.execution_ms': plan.executionMs,
          'db.plan.findings': plan.findings.length,
        });
        findings.push(...plan.findings);
        planned++;
      } catch (error) {
        span.addEvent('explain failed', { 'exception.message': (error as Error).message });
      }
    });
  }
  return planned > 0 ? findings : undefined;
}
