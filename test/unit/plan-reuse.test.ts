import { describe, expect, it } from 'vitest';
import type { PlanFinding } from '../../src/contracts/plan-finding';
import type { PlanRequest, StatementPlan } from '../../src/pipeline/job-pipeline';
import { RecentPlans } from '../../src/worker/plan-reuse';
import { planStatements } from '../../src/worker/statement-plans';

const finding = (rule: PlanFinding['rule']): PlanFinding => ({
  rule,
  severity: 'warning',
  nodeId: 1,
  nodePath: 'Seq Scan on documents',
  nodeType: 'Seq Scan',
  numbers: {},
  message: rule,
  suggestion: '',
});

/** A statement whose EXPLAIN is counted, with the findings each plan of it reports in turn. */
function statement(text: string, ...plans: PlanFinding[][]): PlanRequest & { explained: number } {
  const request = {
    statement: text,
    explained: 0,
    explain: async (): Promise<StatementPlan> => {
      const findings = plans[Math.min(request.explained, plans.length - 1)]!;
      request.explained++;
      return { nodeType: 'Seq Scan', rows: 1, executionMs: 1, findings };
    },
  };
  return request;
}

describe('RecentPlans', () => {
  it('offers a plan until it is intervalMs old, then forgets it', () => {
    const recent = new RecentPlans<string>(1000);
    recent.remember('SELECT 1', 'plan', 5000);
    expect(recent.reusable('SELECT 1', 5999)).toEqual({ plan: 'plan', plannedAtMs: 5000 });
    expect(recent.reusable('SELECT 2', 5999)).toBeUndefined();
    expect(recent.reusable('SELECT 1', 6000)).toBeUndefined();
    expect(recent.reusable('SELECT 1', 5001)).toBeUndefined();
  });

  it('reuses nothing at interval 0', () => {
    const recent = new RecentPlans<string>(0);
    recent.remember('SELECT 1', 'plan', 0);
    expect(recent.reusable('SELECT 1', 0)).toBeUndefined();
  });

  it('keeps at most maxStatements, dropping the oldest plan', () => {
    const recent = new RecentPlans<number>(60_000, 2);
    recent.remember('a', 1, 0);
    recent.remember('b', 2, 1);
    recent.remember('a', 3, 2);
    recent.remember('c', 4, 3);
    expect(recent.reusable('b', 10)).toBeUndefined();
    expect(recent.reusable('a', 10)?.plan).toBe(3);
    expect(recent.reusable('c', 10)?.plan).toBe(4);
  });
});

describe('planStatements', () => {
  it('plans a sampled profile once per interval and reports the earlier plan in between', async () => {
    const recent = new RecentPlans<StatementPlan>(600_000);
    let clock = 1_000_000;
    const now = () => clock;
    const retrieve = statement('SELECT * FROM documents WHERE id = $1', [finding('seq-scan-needs-index')], [finding('hot-node')]);

    const first = await planStatements([retrieve], { recent, reuse: true, now });
    expect(first?.plans).toEqual([{ statement: retrieve.statement, plannedAt: new Date(1_000_000).toISOString(), reused: false }]);
    expect(first?.newFindings.map((f) => f.rule)).toEqual(['seq-scan-needs-index']);

    clock += 599_999;
    const second = await planStatements([retrieve], { recent, reuse: true, now });
    expect(retrieve.explained).toBe(1);
    expect(second?.plans[0]).toMatchObject({ reused: true, plannedAt: new Date(1_000_000).toISOString() });
    expect(second?.findings.map((f) => f.rule)).toEqual(['seq-scan-needs-index']);
    expect(second?.newFindings).toEqual([]);

    clock += 1;
    const third = await planStatements([retrieve], { recent, reuse: true, now });
    expect(retrieve.explained).toBe(2);
    expect(third?.plans[0]?.reused).toBe(false);
    expect(third?.findings.map((f) => f.rule)).toEqual(['hot-node']);
  });

  it('always plans afresh when reuse is off (profile: always, a slow job), and refreshes the plan sampled jobs see', async () => {
    const recent = new RecentPlans<StatementPlan>(600_000);
    const now = () => 0;
    const retrieve = statement('SELECT 1', [finding('sort-spill')], [finding('hash-spill')]);
    await planStatements([retrieve], { recent, reuse: true, now });
    const asked = await planStatements([retrieve], { recent, reuse: false, now });
    expect(retrieve.explained).toBe(2);
    expect(asked?.findings.map((f) => f.rule)).toEqual(['hash-spill']);
    const sampled = await planStatements([retrieve], { recent, reuse: true, now });
    expect(sampled?.findings.map((f) => f.rule)).toEqual(['hash-spill']);
    expect(retrieve.explained).toBe(2);
  });

  it('is undefined when no plan could be taken, and a failed plan is not remembered', async () => {
    const recent = new RecentPlans<StatementPlan>(600_000);
    const failing: PlanRequest = { statement: 'SELECT 1', explain: () => Promise.reject(new Error('refused')) };
    expect(await planStatements([failing], { recent, reuse: true })).toBeUndefined();
    expect(recent.reusable('SELECT 1', Date.now())).toBeUndefined();
    expect(await planStatements([], { recent, reuse: true })).toBeUndefined();
  });
});
