import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expressionColumns } from '../../src/sql-plans/plan-expressions';
import { planNodes } from '../../src/sql-plans/plan-nodes';
import { indexSuggestion, planFindings } from '../../src/sql-plans/plan-rules';
import type { PlanFinding, PlanRuleId } from '../../src/contracts/plan-finding';
import type { ExplainOutput, PlanNode } from '../../src/sql-plans/plan-types';

/**
 * The rules over hand-built plans (each threshold from both sides) and over plans recorded from
 * PostgreSQL 15 (the test server) and 18 (PGlite) in test/fixtures/plans/.
 */

/** A plan node with neutral figures: 100 rows as estimated, one loop, 1 ms. */
function node(type: string, fields: Partial<PlanNode> = {}, children: PlanNode[] = []): PlanNode {
  return {
    'Node Type': type,
    'Plan Rows': 100,
    'Actual Rows': 100,
    'Actual Loops': 1,
    'Actual Startup Time': 0,
    'Actual Total Time': 1,
    ...fields,
    ...(children.length > 0 ? { Plans: children.map((child, index) => ({ 'Parent Relationship': index === 0 ? 'Outer' : 'Inner', ...child })) } : {}),
  };
}

function plan(root: PlanNode, executionMs = 100): ExplainOutput {
  return { Plan: root, 'Planning Time': 0.1, 'Execution Time': executionMs };
}

function recorded(file: string): ExplainOutput {
  const parsed = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/plans', file), 'utf8')) as ExplainOutput[];
  return parsed[0]!;
}

function findingsOf(explain: ExplainOutput, rule: PlanRuleId): PlanFinding[] {
  return planFindings(explain).filter((found) => found.rule === rule);
}

const seqScan = (fields: Partial<PlanNode>) =>
  node('Seq Scan', { 'Relation Name': 'documents', Alias: 'documents', Filter: "(topic = 'ml'::text)", ...fields });

interface RuleCase {
  name: string;
  explain: ExplainOutput;
  fires: boolean;
  severity?: PlanFinding['severity'];
  numbers?: Record<string, number>;
}

const cases: Record<PlanRuleId, RuleCase[]> = {
  'row-misestimate': [
    { name: 'exactly 10× under', explain: plan(node('Seq Scan', { 'Plan Rows': 100, 'Actual Rows': 1000 })), fires: true, severity: 'warning', numbers: { factor: 10 } },
    { name: 'just under 10×', explain: plan(node('Seq Scan', { 'Plan Rows': 100, 'Actual Rows': 999 })), fires: false },
    { name: '100× under is high', explain: plan(node('Seq Scan', { 'Plan Rows': 100, 'Actual Rows': 10_000 })), fires: true, severity: 'high', numbers: { factor: 100 } },
    { name: '100× over is high', explain: plan(node('Seq Scan', { 'Plan Rows': 1000, 'Actual Rows': 10 })), fires: true, severity: 'high', numbers: { plannedRows: 1000, actualRows: 10 } },
    { name: '0 rows counts as 1', explain: plan(node('Seq Scan', { 'Plan Rows': 500, 'Actual Rows': 0 })), fires: true, numbers: { factor: 500 } },
    { name: 'below the 100-row floor', explain: plan(node('Seq Scan', { 'Plan Rows': 5, 'Actual Rows': 60 })), fires: false },
    {
      name: 'loop-adjusted: 1 planned × 1,000 loops vs 20 × 1,000',
      explain: plan(node('Nested Loop', {}, [node('Seq Scan'), node('Index Scan', { 'Plan Rows': 1, 'Actual Rows': 20, 'Actual Loops': 1000 })])),
      fires: true,
      numbers: { plannedRows: 1000, actualRows: 20_000, loops: 1000 },
    },
    {
      name: 'fewer rows than planned under a Limit is the Limit, not an estimate',
      explain: plan(node('Limit', { 'Plan Rows': 10, 'Actual Rows': 10 }, [node('Seq Scan', { 'Plan Rows': 100_000, 'Actual Rows': 10 })])),
      fires: false,
    },
    { name: 'never executed', explain: plan(node('Seq Scan', { 'Plan Rows': 100, 'Actual Rows': 0, 'Actual Loops': 0 })), fires: false },
  ],
  'filter-discards': [
    { name: '51% removed', explain: plan(node('Index Scan', { 'Relation Name': 'big', 'Index Cond': '(id < 100)', Filter: '(n = 1)', 'Actual Rows': 4900, 'Rows Removed by Filter': 5100 })), fires: true, severity: 'warning', numbers: { removedPercent: 51 } },
    { name: 'exactly 50% removed', explain: plan(node('Index Scan', { Filter: '(n = 1)', 'Actual Rows': 5000, 'Rows Removed by Filter': 5000 })), fires: false },
    { name: '91% removed is high', explain: plan(node('Index Scan', { Filter: '(n = 1)', 'Actual Rows': 900, 'Rows Removed by Filter': 9100 })), fires: true, severity: 'high' },
    { name: 'below the 1,000-row floor', explain: plan(node('Index Scan', { Filter: '(n = 1)', 'Actual Rows': 100, 'Rows Removed by Filter': 900 })), fires: false },
    {
      name: 'loop-adjusted: 10 removed × 200 loops',
      explain: plan(node('Index Scan', { Filter: '(n = 1)', 'Actual Rows': 5, 'Rows Removed by Filter': 10, 'Actual Loops': 200 })),
      fires: true,
      numbers: { rowsRemoved: 2000, rowsReturned: 1000, loops: 200 },
    },
    {
      name: 'a join filter',
      explain: plan(node('Nested Loop', { 'Join Filter': '(a.x > b.y)', 'Actual Rows': 100, 'Rows Removed by Join Filter': 9900 }, [node('Seq Scan'), node('Seq Scan')])),
      fires: true,
      severity: 'high',
      numbers: { rowsRemoved: 9900 },
    },
    { name: 'left to seq-scan-needs-index on a seq scan above 90%', explain: plan(seqScan({ 'Actual Rows': 50, 'Rows Removed by Filter': 9950 })), fires: false },
  ],
  'seq-scan-needs-index': [
    { name: "DESIGN.md's example", explain: plan(seqScan({ 'Actual Rows': 240, 'Rows Removed by Filter': 119_760 })), fires: true, severity: 'high', numbers: { rowsRead: 120_000, removedPercent: 99.8 } },
    { name: 'exactly 90% removed', explain: plan(seqScan({ 'Actual Rows': 100, 'Rows Removed by Filter': 900 })), fires: false },
    { name: '90.1% of 1,000 rows', explain: plan(seqScan({ 'Actual Rows': 99, 'Rows Removed by Filter': 901 })), fires: true, severity: 'warning', numbers: { rowsRead: 1000 } },
    { name: 'below the 1,000-row floor', explain: plan(seqScan({ 'Actual Rows': 9, 'Rows Removed by Filter': 990 })), fires: false },
    { name: 'no filter, nothing to index', explain: plan(node('Seq Scan', { 'Relation Name': 'documents', 'Actual Rows': 120_000 })), fires: false },
    {
      name: 'a parallel scan counts the rows of every process',
      explain: plan(node('Gather', { 'Workers Planned': 2, 'Workers Launched': 2 }, [seqScan({ 'Parallel Aware': true, 'Actual Loops': 3, 'Actual Rows': 80, 'Rows Removed by Filter': 39_920 })])),
      fires: true,
      severity: 'high',
      numbers: { rowsRead: 120_000, rowsReturned: 240 },
    },
  ],
  'sort-spill': [
    { name: 'external merge on disk', explain: plan(node('Sort', { 'Sort Method': 'external merge', 'Sort Space Used': 12_344, 'Sort Space Type': 'Disk' })), fires: true, numbers: { diskKb: 12_344, spilledProcesses: 1 } },
    { name: 'quicksort in memory', explain: plan(node('Sort', { 'Sort Method': 'quicksort', 'Sort Space Used': 900, 'Sort Space Type': 'Memory' })), fires: false },
    {
      name: 'workers that spill while the leader does not',
      explain: plan(
        node('Sort', {
          'Sort Method': 'quicksort',
          'Sort Space Type': 'Memory',
          'Sort Space Used': 25,
          Workers: [
            { 'Worker Number': 0, 'Sort Method': 'external merge', 'Sort Space Used': 5000, 'Sort Space Type': 'Disk' },
            { 'Worker Number': 1, 'Sort Method': 'external merge', 'Sort Space Used': 3000, 'Sort Space Type': 'Disk' },
          ],
        }),
      ),
      fires: true,
      numbers: { diskKb: 8000, largestSpillKb: 5000, spilledProcesses: 2 },
    },
  ],
  'hash-spill': [
    { name: '64 batches', explain: plan(node('Hash', { 'Hash Batches': 64, 'Original Hash Batches': 16, 'Peak Memory Usage': 130 })), fires: true, numbers: { hashBatches: 64, originalHashBatches: 16, peakMemoryKb: 130 } },
    { name: 'one batch', explain: plan(node('Hash', { 'Hash Batches': 1, 'Original Hash Batches': 1, 'Peak Memory Usage': 900 })), fires: false },
  ],
  'hash-agg-spill': [
    { name: 'disk usage and batches', explain: plan(node('Aggregate', { Strategy: 'Hashed', 'HashAgg Batches': 341, 'Disk Usage': 7112, 'Peak Memory Usage': 177 })), fires: true, numbers: { diskUsageKb: 7112, hashAggBatches: 341 } },
    { name: 'batches alone', explain: plan(node('Aggregate', { Strategy: 'Hashed', 'HashAgg Batches': 2, 'Disk Usage': 0 })), fires: true, numbers: { hashAggBatches: 2 } },
    { name: 'in memory', explain: plan(node('Aggregate', { Strategy: 'Hashed', 'HashAgg Batches': 1, 'Disk Usage': 0, 'Peak Memory Usage': 900 })), fires: false },
  ],
  'heap-fetches': [
    { name: '41% of rows fetched', explain: plan(node('Index Only Scan', { 'Relation Name': 'big', 'Actual Rows': 10_000, 'Heap Fetches': 4100 })), fires: true, numbers: { heapFetchPercent: 41 } },
    { name: 'exactly 40%', explain: plan(node('Index Only Scan', { 'Actual Rows': 10_000, 'Heap Fetches': 4000 })), fires: false },
    { name: 'below the 1,000-fetch floor', explain: plan(node('Index Only Scan', { 'Actual Rows': 1000, 'Heap Fetches': 999 })), fires: false },
    {
      // Heap Fetches is a total over loops, Actual Rows a per-loop average.
      name: 'one row per loop over 3,000 loops, all fetched',
      explain: plan(node('Nested Loop', {}, [node('Function Scan'), node('Index Only Scan', { 'Actual Rows': 1, 'Actual Loops': 3000, 'Plan Rows': 1, 'Heap Fetches': 3000 })])),
      fires: true,
      numbers: { heapFetches: 3000, rows: 3000, heapFetchPercent: 100 },
    },
  ],
  'lossy-bitmap': [
    { name: 'one lossy block', explain: plan(node('Bitmap Heap Scan', { 'Exact Heap Blocks': 700, 'Lossy Heap Blocks': 1 })), fires: true, numbers: { lossyHeapBlocks: 1, exactHeapBlocks: 700 } },
    { name: 'all exact', explain: plan(node('Bitmap Heap Scan', { 'Exact Heap Blocks': 700, 'Lossy Heap Blocks': 0 })), fires: false },
  ],
  'nested-loop-explosion': [
    {
      name: '1,000 inner loops taking exactly 10%',
      explain: plan(node('Nested Loop', { 'Actual Total Time': 20 }, [node('Seq Scan', { 'Actual Rows': 1000, 'Plan Rows': 1000 }), node('Index Scan', { 'Actual Loops': 1000, 'Actual Total Time': 0.01, 'Actual Rows': 1, 'Plan Rows': 1 })]), 100),
      fires: true,
      severity: 'warning',
      numbers: { innerLoops: 1000, innerTimeMs: 10, innerTimePercent: 10 },
    },
    {
      name: '999 inner loops',
      explain: plan(node('Nested Loop', { 'Actual Total Time': 20 }, [node('Seq Scan', { 'Actual Rows': 999 }), node('Index Scan', { 'Actual Loops': 999, 'Actual Total Time': 0.05, 'Actual Rows': 1, 'Plan Rows': 1 })]), 100),
      fires: false,
    },
    {
      name: 'inner side under 10% of the time',
      explain: plan(node('Nested Loop', { 'Actual Total Time': 20 }, [node('Seq Scan', { 'Actual Rows': 1000 }), node('Index Scan', { 'Actual Loops': 1000, 'Actual Total Time': 0.0099, 'Actual Rows': 1, 'Plan Rows': 1 })]), 100),
      fires: false,
    },
    {
      name: 'half the time is high',
      explain: plan(node('Nested Loop', { 'Actual Total Time': 80 }, [node('Seq Scan', { 'Actual Rows': 5000, 'Plan Rows': 5000 }), node('Index Scan', { 'Actual Loops': 5000, 'Actual Total Time': 0.01, 'Actual Rows': 1, 'Plan Rows': 1 })]), 100),
      fires: true,
      severity: 'high',
    },
  ],
  'low-cache-hit': [
    { name: '20% read', explain: plan(seqScan({ 'Shared Hit Blocks': 8000, 'Shared Read Blocks': 2000 })), fires: true, numbers: { sharedReadBlocks: 2000, readPercent: 20, readKb: 16_000 } },
    { name: 'exactly 10% read', explain: plan(seqScan({ 'Shared Hit Blocks': 9000, 'Shared Read Blocks': 1000 })), fires: false },
    { name: 'below the 1,000-block floor', explain: plan(seqScan({ 'Shared Hit Blocks': 0, 'Shared Read Blocks': 999 })), fires: false },
    {
      // Buffer counts include the children's; only the node that did the reading is reported.
      name: 'inclusive counts are reported once, at the scan',
      explain: plan(node('Aggregate', { 'Shared Hit Blocks': 8000, 'Shared Read Blocks': 2000 }, [seqScan({ 'Shared Hit Blocks': 8000, 'Shared Read Blocks': 2000 })])),
      fires: true,
    },
  ],
  'hot-node': [
    {
      name: 'own time 41%',
      explain: plan(node('Hash Join', { 'Actual Total Time': 10 }, [node('Seq Scan', { 'Actual Total Time': 3 }), node('Hash', { 'Actual Total Time': 2.9 })]), 10),
      fires: true,
      severity: 'info',
      numbers: { ownTimeMs: 4.1, ownTimePercent: 41 },
    },
    {
      name: 'own time exactly 40%',
      explain: plan(node('Hash Join', { 'Actual Total Time': 10 }, [node('Seq Scan', { 'Actual Total Time': 3 }), node('Hash', { 'Actual Total Time': 3 })]), 10),
      fires: false,
    },
    { name: 'a fast query has no hot node', explain: plan(node('Seq Scan', { 'Actual Total Time': 0.5 }), 0.5), fires: false },
  ],
};

describe('plan rules at their thresholds', () => {
  for (const [rule, ruleCases] of Object.entries(cases) as [PlanRuleId, RuleCase[]][]) {
    describe(rule, () => {
      it.each(ruleCases)('$name', ({ explain, fires, severity, numbers }) => {
        const found = findingsOf(explain, rule);
        if (!fires) {
          expect(found).toEqual([]);
          return;
        }
        expect(found).toHaveLength(1);
        if (severity) expect(found[0]!.severity).toBe(severity);
        for (const [name, value] of Object.entries(numbers ?? {})) expect(found[0]!.numbers[name], name).toBeCloseTo(value, 1);
      });
    });
  }
});

describe('findings name the node and say what to do', () => {
  it('reads like DESIGN.md for a seq scan, with the path from the top and the filter column to index', () => {
    const explain = plan(
      node('Limit', { 'Plan Rows': 10, 'Actual Rows': 10 }, [
        node('Sort', { 'Sort Key': ['documents.title'], 'Sort Method': 'top-N heapsort', 'Sort Space Type': 'Memory', 'Actual Rows': 10 }, [
          seqScan({ 'Actual Rows': 240, 'Plan Rows': 250, 'Rows Removed by Filter': 119_760 }),
        ]),
      ]),
    );
    const [found] = findingsOf(explain, 'seq-scan-needs-index');
    expect(found).toEqual({
      rule: 'seq-scan-needs-index',
      severity: 'high',
      nodeId: 3,
      nodePath: 'Limit > Sort > Seq Scan on documents',
      nodeType: 'Seq Scan',
      relation: 'documents',
      numbers: { rowsRead: 120_000, rowsReturned: 240, rowsRemoved: 119_760, removedPercent: 99.8 },
      message: 'Seq Scan on documents removes 99.8% of 120,000 rows',
      suggestion: 'add an index on documents (topic): CREATE INDEX ON documents (topic)',
    });
  });

  it.each([
    ["((topic = 'ml'::text) AND (created_at > now()))", 'add an index on documents (topic, created_at): CREATE INDEX ON documents (topic, created_at)'],
    ["(lower(title) = 'gdpr'::text)", 'add an expression index on documents ((lower(title))): CREATE INDEX ON documents ((lower(title)))'],
    ["(tsv @@ '''redi'''::tsquery)", 'add a GIN index on documents (tsv): CREATE INDEX ON documents USING GIN (tsv)'],
    ["((d.topic)::text = ANY ('{ml,ops}'::text[]))", 'add an index on documents (topic): CREATE INDEX ON documents (topic)'],
    ["((topic = 'ml'::text) OR (author = 'ann'::text))", 'add one index per OR branch on documents: (topic), (author); PostgreSQL combines them with a BitmapOr'],
  ])('suggests the index for %s', (filter, suggestion) => {
    expect(indexSuggestion('documents', [filter])).toBe(suggestion);
  });

  it('suggests a trigram index for a leading-wildcard LIKE', () => {
    expect(indexSuggestion('documents', ["(body ~~ '%runbook%'::text)"])).toContain('CREATE INDEX ON documents USING GIN (body gin_trgm_ops)');
  });

  it('suggests sort and spill fixes with numbers: work_mem for twice the spill, an index on the sort key', () => {
    const explain = plan(
      node('Sort', { 'Sort Key': ['big.payload'], 'Sort Method': 'external merge', 'Sort Space Used': 12_344, 'Sort Space Type': 'Disk', 'Actual Rows': 200_000 }, [
        node('Seq Scan', { 'Relation Name': 'big', Alias: 'big', 'Actual Rows': 200_000 }),
      ]),
    );
    const [found] = findingsOf(explain, 'sort-spill');
    expect(found!.message).toBe('Sort spills to disk: external merge of 200,000 rows using 12 MB of temp files');
    expect(found!.suggestion).toBe("raise work_mem for this query: SET LOCAL work_mem = '32MB', or read the rows in order from an index: CREATE INDEX ON big (payload)");
  });

  it('reports a misestimate where it starts, not at every node it flows into', () => {
    const explain = plan(
      node('Sort', { 'Plan Rows': 50, 'Actual Rows': 50_000 }, [node('Seq Scan', { 'Relation Name': 'events', Filter: '((kind = 1) AND (source = 2))', 'Plan Rows': 50, 'Actual Rows': 50_000 })]),
    );
    const found = findingsOf(explain, 'row-misestimate');
    expect(found.map((finding) => finding.nodePath)).toEqual(['Sort > Seq Scan on events']);
    expect(found[0]!.message).toBe('Seq Scan on events returned 50,000 rows where the planner expected 50 (1,000× under-estimated)');
    expect(found[0]!.suggestion).toContain('CREATE STATISTICS ON kind, source FROM events');
  });

  it('points the hot node at the other findings on it', () => {
    const explain = plan(seqScan({ 'Actual Rows': 240, 'Rows Removed by Filter': 119_760, 'Actual Total Time': 30 }), 31);
    const hot = findingsOf(explain, 'hot-node');
    expect(hot[0]!.suggestion).toBe('start here: see seq-scan-needs-index on this node');
  });

  it('orders findings most severe first', () => {
    const explain = plan(
      node('Sort', { 'Sort Method': 'external merge', 'Sort Space Type': 'Disk', 'Sort Space Used': 900, 'Actual Total Time': 90 }, [
        seqScan({ 'Actual Rows': 240, 'Rows Removed by Filter': 119_760, 'Actual Total Time': 10 }),
      ]),
    );
    expect(planFindings(explain).map((found) => `${found.severity} ${found.rule}`)).toEqual(['high seq-scan-needs-index', 'warning sort-spill', 'info hot-node']);
  });

  it('finds nothing in a healthy primary-key lookup', () => {
    const explain = plan(node('Index Scan', { 'Relation Name': 'big', 'Index Name': 'big_pkey', 'Index Cond': '(id = 4242)', 'Plan Rows': 1, 'Actual Rows': 1, 'Actual Total Time': 0.02, 'Shared Hit Blocks': 4, 'Shared Read Blocks': 0 }), 0.05);
    expect(planFindings(explain)).toEqual([]);
  });
});

describe('loop adjustment and own time', () => {
  it('multiplies per-loop rows and time by loops, and subtracts the children from the parent', () => {
    const views = planNodes(
      plan(node('Nested Loop', { 'Actual Total Time': 15, 'Actual Rows': 5000 }, [node('Function Scan', { 'Actual Total Time': 1, 'Actual Rows': 5000 }), node('Index Scan', { 'Actual Loops': 5000, 'Actual Total Time': 0.002, 'Actual Rows': 1, 'Plan Rows': 1 })])),
    );
    const [loop, outer, inner] = views;
    expect(inner).toMatchObject({ loops: 5000, actualRows: 5000, plannedRows: 5000 });
    expect(inner!.totalTimeMs).toBeCloseTo(10, 6);
    expect(outer!.exclusiveTimeMs).toBeCloseTo(1, 6);
    expect(loop!.exclusiveTimeMs).toBeCloseTo(4, 6);
  });

  it('shares parallel time out over the processes and scales the per-process estimate back up', () => {
    const views = planNodes(
      plan(
        node('Gather', { 'Workers Planned': 2, 'Workers Launched': 2, 'Actual Total Time': 40, 'Plan Rows': 240, 'Actual Rows': 240 }, [
          seqScan({ 'Parallel Aware': true, 'Actual Loops': 3, 'Actual Total Time': 30, 'Plan Rows': 100, 'Actual Rows': 80, 'Rows Removed by Filter': 39_920 }),
        ]),
      ),
    );
    const scan = views[1]!;
    expect(scan.label).toBe('Parallel Seq Scan on documents');
    expect(scan.totalTimeMs).toBeCloseTo(30, 6);
    expect(scan.actualRows).toBe(240);
    // 2 workers + the leader's 0.4 share: PostgreSQL's parallel divisor.
    expect(scan.plannedRows).toBeCloseTo(240, 6);
    expect(views[0]!.exclusiveTimeMs).toBeCloseTo(10, 6);
  });

  it("subtracts a CTE from the CTE Scan that runs it, not from the CTE's holder", () => {
    const views = planNodes(
      plan(
        node('Hash Join', { 'Actual Total Time': 50 }, [
          node('Aggregate', { 'Parent Relationship': 'InitPlan', 'Subplan Name': 'CTE totals', Strategy: 'Hashed', 'Actual Total Time': 30 }, [node('Seq Scan', { 'Relation Name': 'big', 'Actual Total Time': 20 })]),
          node('CTE Scan', { 'CTE Name': 'totals', Alias: 't', 'Actual Total Time': 32 }),
          node('Hash', { 'Actual Total Time': 10 }, [node('Seq Scan', { 'Relation Name': 'small', 'Actual Total Time': 8 })]),
        ]),
      ),
    );
    const byLabel = Object.fromEntries(views.map((view) => [view.label, view.exclusiveTimeMs]));
    expect(byLabel['CTE totals: HashAggregate']).toBeCloseTo(10, 6);
    expect(byLabel['CTE Scan on totals t']).toBeCloseTo(2, 6);
    expect(byLabel['Hash Join']).toBeCloseTo(8, 6);
    const total = views.reduce((sum, view) => sum + view.exclusiveTimeMs, 0);
    expect(total).toBeCloseTo(50, 6);
  });

  it('subtracts an InitPlan from the node that reads its value', () => {
    const views = planNodes(
      plan(
        node('Limit', { 'Actual Total Time': 0.023 }, [
          node('Result', { 'Parent Relationship': 'InitPlan', 'Subplan Name': 'InitPlan 1 (returns $0)', 'Actual Total Time': 0.013 }),
          node('Index Scan', { 'Relation Name': 'big', 'Index Cond': '(n = $0)', 'Actual Total Time': 0.021 }),
        ]),
      ),
    );
    expect(views.map((view) => Number(view.exclusiveTimeMs.toFixed(3)))).toEqual([0.002, 0.013, 0.008]);
  });

  it('labels nodes as the text format does', () => {
    const labels = planNodes(
      plan(
        node('Aggregate', { Strategy: 'Sorted', 'Partial Mode': 'Finalize' }, [
          node('Hash Join', { 'Join Type': 'Left' }, [
            node('Index Only Scan', { 'Index Name': 'big_pkey', 'Relation Name': 'big', Alias: 'b' }),
            node('ModifyTable', { Operation: 'Delete', 'Relation Name': 'documents', Alias: 'documents' }),
          ]),
        ]),
      ),
    ).map((view) => view.label);
    expect(labels).toEqual(['Finalize GroupAggregate', 'Hash Left Join', 'Index Only Scan using big_pkey on big b', 'Delete on documents']);
  });
});

describe('recorded plans', () => {
  it('PostgreSQL 15: a seq scan through the ring buffer misses the cache (low-cache-hit)', () => {
    const [found] = findingsOf(recorded('pg15-low-cache-hit.json'), 'low-cache-hit');
    expect(found).toMatchObject({ nodePath: 'Aggregate > Seq Scan on wide', relation: 'wide', severity: 'warning' });
    expect(found!.numbers.sharedReadBlocks).toBeGreaterThan(1000);
    expect(found!.numbers.readPercent).toBeGreaterThan(10);
  });

  it('PostgreSQL 15: a parallel sort spilling in the leader and both workers', () => {
    const explain = recorded('pg15-parallel-sort-spill.json');
    const [found] = findingsOf(explain, 'sort-spill');
    expect(found).toMatchObject({ nodePath: 'Gather Merge > Sort', numbers: { spilledProcesses: 3, diskKb: 3592 + 6008 + 2920, largestSpillKb: 6008 } });
    const sort = planNodes(explain)[1]!;
    expect(sort.actualRows).toBe(66_667 * 3);
    expect(sort.plannedRows).toBeCloseTo(200_000, -1);
  });

  it('PostgreSQL 15: a hash aggregate over 100,000 groups spilling to disk', () => {
    const [found] = findingsOf(recorded('pg15-hash-agg-spill.json'), 'hash-agg-spill');
    expect(found).toMatchObject({ nodePath: 'HashAggregate', numbers: { groups: 100_000 } });
    expect(found!.numbers.diskUsageKb).toBeGreaterThan(0);
  });

  it('PostgreSQL 18: fractional Actual Rows per loop are loop-adjusted into whole totals', () => {
    const explain = recorded('pg18-nested-loop-fractional-rows.json');
    const inner = planNodes(explain).find((view) => view.node['Node Type'] === 'Index Only Scan')!;
    expect(inner).toMatchObject({ loops: 4000, actualRows: 2000 });
    const [found] = findingsOf(explain, 'nested-loop-explosion');
    expect(found!.numbers).toMatchObject({ innerLoops: 4000, outerRows: 4000 });
  });
});

describe('reading columns out of EXPLAIN expressions', () => {
  it.each([
    ["(topic = 'ml'::text)", ['topic']],
    ["((b.topic)::text = 'x'::character varying)", ['topic']],
    ['((created_at >= $1) AND (created_at < ($1 + \'1 day\'::interval)))', ['created_at']],
    ["(\"Mixed Case\" = 1)", ['Mixed Case']],
    ['(id = ANY ((hashed SubPlan 1).col1))', ['id']],
    ["((lower(title) ~~ 'gdpr%'::text) AND (NOT deleted))", ['title', 'deleted']],
  ])('%s -> %j', (expression, columns) => {
    expect(expressionColumns(expression).columns).toEqual(columns);
  });
});

describe('suggestions and the indexes that exist', () => {
  // The sample pipeline's retrieve statement on PGlite's 220-row documents table, recorded cold (19 ms).
  const retrieve = recorded('pglite-retrieve-seq-scan.json');
  const tsvIndex = { relation: 'documents', name: 'documents_tsv_idx', method: 'gin', keys: ['tsv'], definition: 'CREATE INDEX documents_tsv_idx ON public.documents USING gin (tsv)' };
  const withTime = (explain: ExplainOutput, executionMs: number): ExplainOutput => ({ ...explain, 'Execution Time': executionMs });

  it('fires hot-node on the Seq Scan from 1 ms of execution, whatever the machine took', () => {
    expect(findingsOf(withTime(retrieve, 0.999), 'hot-node')).toHaveLength(0);
    const [hot] = findingsOf(withTime(retrieve, 1), 'hot-node');
    expect(hot?.nodePath).toMatch(/Seq Scan on documents/);
    expect(findingsOf(retrieve, 'hot-node')).toHaveLength(1);
  });

  it('names the existing GIN index and why the planner scanned instead of suggesting it again', () => {
    const [withIndexes] = planFindings(retrieve, { indexes: [tsvIndex] }).filter((found) => found.rule === 'hot-node');
    expect(withIndexes?.suggestion).toBe(
      'start here: documents_tsv_idx on documents (tsv) already exists, but the planner chose to scan: the table is small (220 rows read), ' +
        'and reading it whole is estimated cheaper than the index; it will switch to the index as the table grows (to compare now: SET LOCAL enable_seqscan = off)',
    );
    expect(withIndexes?.suggestion).not.toMatch(/CREATE INDEX/);
    // Without knowing the indexes, the rule suggests one: what the lookup prevents.
    expect(findingsOf(retrieve, 'hot-node')[0]?.suggestion).toMatch(/CREATE INDEX ON documents USING GIN \(tsv\)/);
  });

  it('still suggests an index when the existing ones cannot serve the condition', () => {
    const btreeOnTopic = { relation: 'documents', name: 'documents_topic_idx', method: 'btree', keys: ['topic'], definition: 'CREATE INDEX documents_topic_idx ON documents (topic)' };
    expect(indexSuggestion('documents', ["(tsv @@ 'x'::tsquery)"], [btreeOnTopic])).toMatch(/CREATE INDEX ON documents USING GIN \(tsv\)/);
    const btreeOnTsv = { ...tsvIndex, method: 'btree' };
    expect(indexSuggestion('documents', ["(tsv @@ 'x'::tsquery)"], [btreeOnTsv])).toMatch(/CREATE INDEX ON documents USING GIN/);
    const onOtherTable = { ...tsvIndex, relation: 'archive' };
    expect(indexSuggestion('documents', ["(tsv @@ 'x'::tsquery)"], [onOtherTable])).toMatch(/CREATE INDEX/);
    const lowerTitle = { relation: 'documents', name: 'documents_lower_title', method: 'btree', keys: ['lower(title)'], definition: 'CREATE INDEX documents_lower_title ON documents (lower(title))' };
    expect(indexSuggestion('documents', ["(lower(title) = 'x'::text)"], [lowerTitle])).toMatch(/^documents_lower_title on documents \(lower\(title\)\) already exists/);
  });
});
