import { describe, expect, it } from 'vitest';
import { renderPlan } from '../../src/sql-plans/plan-render';
import { planFindings } from '../../src/sql-plans/plan-rules';
import type { ExplainOutput } from '../../src/sql-plans/plan-types';

const explain: ExplainOutput = {
  Plan: {
    'Node Type': 'Limit',
    'Plan Rows': 10,
    'Actual Rows': 10,
    'Actual Loops': 1,
    'Actual Total Time': 40,
    Plans: [
      {
        'Node Type': 'Sort',
        'Parent Relationship': 'Outer',
        'Plan Rows': 240,
        'Actual Rows': 10,
        'Actual Loops': 1,
        'Actual Total Time': 39.9,
        'Sort Key': ['documents.title'],
        'Sort Method': 'top-N heapsort',
        'Sort Space Used': 27,
        'Sort Space Type': 'Memory',
        Plans: [
          {
            'Node Type': 'Seq Scan',
            'Parent Relationship': 'Outer',
            'Relation Name': 'documents',
            Alias: 'documents',
            'Plan Rows': 240,
            'Actual Rows': 240,
            'Actual Loops': 1,
            'Actual Total Time': 38,
            Filter: "(topic = 'ml'::text)",
            'Rows Removed by Filter': 119_760,
          },
        ],
      },
    ],
  },
  'Planning Time': 0.2,
  'Execution Time': 40.1,
};

describe('renderPlan', () => {
  it('prints the tree with time, rows and conditions per node, then the findings', () => {
    const text = renderPlan(explain, planFindings(explain));
    expect(text.split('\n')).toEqual([
      '#1 Limit  40.0 ms (own 0.100 ms, 0.2%) · 10 rows (est 10)',
      '#2 -> Sort  39.9 ms (own 1.9 ms, 4.7%) · 10 rows (est 240) · top-N heapsort 27 kB Memory',
      '         Sort Key: documents.title',
      '#3    -> Seq Scan on documents  38.0 ms (own 38.0 ms, 94.8%) · 240 rows (est 240) · 119,760 removed by filter  [seq-scan-needs-index, hot-node]',
      '            Filter: (topic = \'ml\'::text)',
      '',
      'execution 40.1 ms, planning 0.200 ms',
      '',
      '2 findings:',
      '  HIGH     seq-scan-needs-index at #3 Limit > Sort > Seq Scan on documents',
      '           Seq Scan on documents removes 99.8% of 120,000 rows',
      '           fix: add an index on documents (topic): CREATE INDEX ON documents (topic)',
      '  INFO     hot-node at #3 Limit > Sort > Seq Scan on documents',
      '           Seq Scan on documents takes 94.8% of execution time (38.0 ms of 40.1 ms on its own)',
      '           fix: start here: see seq-scan-needs-index on this node',
    ]);
  });

  it('says so when nothing crosses a threshold', () => {
    const healthy: ExplainOutput = { Plan: { 'Node Type': 'Result', 'Plan Rows': 1, 'Actual Rows': 1, 'Actual Loops': 1, 'Actual Total Time': 0.001 }, 'Execution Time': 0.01 };
    expect(renderPlan(healthy, planFindings(healthy))).toMatch(/no findings: nothing in this plan crosses a rule threshold$/);
  });
});
