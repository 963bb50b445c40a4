import { expressionColumns } from './plan-expressions';
import { formatCount, formatKb, formatMs, formatPercent, roundTo, workMemSuggestion } from './plan-format';
import { isInitPlan, numberField, planNodes, type PlanNodeView } from './plan-nodes';
import { PLAN_RULE_IDS, type FindingSeverity, type PlanFinding, type PlanRuleId } from '../contracts/plan-finding';
import type { ExplainOutput, PlanNode } from './plan-types';

/**
 * Thresholds of the rules, from ../shared/DESIGN.md ("Query profiling"). The `min…` floors are
 * ragscope's own: below them a step is too small to be worth a finding, whatever its ratios say
 * (a seq scan discarding 90% of 200 rows is the right plan).
 */
export const PLAN_RULE_THRESHOLDS = {
  misestimateFactor: 10,
  misestimateHighFactor: 100,
  /** The larger of estimate and actual, over all loops. */
  misestimateMinRows: 100,
  filterDiscardFraction: 0.5,
  filterDiscardHighFraction: 0.9,
  filterDiscardMinRemovedRows: 1_000,
  seqScanRemovedFraction: 0.9,
  seqScanMinRowsRead: 1_000,
  seqScanHighRowsRead: 100_000,
  heapFetchFraction: 0.4,
  heapFetchMinFetches: 1_000,
  nestedLoopMinInnerLoops: 1_000,
  nestedLoopTimeFraction: 0.1,
  nestedLoopHighTimeFraction: 0.5,
  cacheMissFraction: 0.1,
  cacheMissMinReadBlocks: 1_000,
  hotNodeFraction: 0.4,
  /** Below a millisecond the whole query is fast; which node owns it is noise. */
  hotNodeMinExecutionMs: 1,
} as const;

const T = PLAN_RULE_THRESHOLDS;

/** PostgreSQL's default block size; buffer counts are in blocks. */
const BLOCK_BYTES = 8192;
/** Rough memory of one exact page entry in a TID bitmap (entry + hash table overhead). */
const BITMAP_BYTES_PER_PAGE = 80;

/** An index that exists on a table of the plan (pg_index), so no rule suggests it again. */
export interface ExistingIndex {
  /** Table name as the plan's Relation Name gives it. */
  relation: string;
  name: string;
  /** Access method: btree, gin, gist … */
  method: string;
  /** Key columns or expressions in order, as pg_get_indexdef prints them (`tsv`, `lower(title)`). */
  keys: string[];
  /** The whole CREATE INDEX statement (shows operator classes such as gin_trgm_ops). */
  definition: string;
}

export interface PlanRuleContext {
  /** Indexes on the plan's tables; without them, suggestions cannot tell what exists. */
  indexes?: ExistingIndex[];
}

interface RuleContext extends PlanRuleContext {
  executionMs?: number;
}

type NodeRule = (view: PlanNodeView, context: RuleContext) => PlanFinding | undefined;

const NODE_RULES: NodeRule[] = [
  rowMisestimate,
  filterDiscards,
  seqScanNeedsIndex,
  sortSpill,
  hashSpill,
  hashAggSpill,
  heapFetches,
  lossyBitmap,
  nestedLoopExplosion,
  lowCacheHit,
];

const SEVERITY_RANK: Record<FindingSeverity, number> = { high: 0, warning: 1, info: 2 };

/**
 * Every finding of the rules over one EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) result, most severe
 * first. Pure: no I/O, the same plan always gives the same findings.
 */
export function planFindings(explain: ExplainOutput, ruleContext: PlanRuleContext = {}): PlanFinding[] {
  const views = planNodes(explain);
  const context: RuleContext = { ...ruleContext, executionMs: numberField(explain, 'Execution Time') };
  const findings: PlanFinding[] = [];
  for (const view of views) {
    for (const rule of NODE_RULES) {
      const found = rule(view, context);
      if (found) findings.push(found);
    }
  }
  for (const view of views) {
    const found = hotNode(view, context, findings);
    if (found) findings.push(found);
  }
  return findings.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      a.nodeId - b.nodeId ||
      PLAN_RULE_IDS.indexOf(a.rule) - PLAN_RULE_IDS.indexOf(b.rule),
  );
}

function finding(
  view: PlanNodeView,
  rule: PlanRuleId,
  severity: FindingSeverity,
  numbers: Record<string, number>,
  message: string,
  suggestion: string,
): PlanFinding {
  const relation = view.node['Relation Name'];
  const rounded = Object.fromEntries(Object.entries(numbers).map(([name, value]) => [name, roundTo(value, 3)]));
  return {
    rule,
    severity,
    nodeId: view.id,
    nodePath: view.path,
    nodeType: view.node['Node Type'],
    ...(relation ? { relation } : {}),
    numbers: rounded,
    message,
    suggestion,
  };
}

// ---------------------------------------------------------------------------------------------
// row misestimate

interface Misestimate {
  factor: number;
  direction: 'under' | 'over';
}

/** Nodes whose Actual Rows is not a row count (bitmap set operations report 0; writes report RETURNING rows). */
const ROWS_NOT_COMPARABLE = new Set(['BitmapAnd', 'BitmapOr', 'ModifyTable']);

function misestimate(view: PlanNodeView): Misestimate | undefined {
  if (!view.executed || numberField(view.node, 'Plan Rows') === undefined) return undefined;
  if (ROWS_NOT_COMPARABLE.has(view.node['Node Type'])) return undefined;
  if (view.actualRows < view.plannedRows && view.mayStopEarly) return undefined;
  const actual = Math.max(view.actualRows, 1);
  const planned = Math.max(view.plannedRows, 1);
  return actual >= planned ? { factor: actual / planned, direction: 'under' } : { factor: planned / actual, direction: 'over' };
}

function rowMisestimate(view: PlanNodeView): PlanFinding | undefined {
  const estimate = misestimate(view);
  if (!estimate || estimate.factor < T.misestimateFactor) return undefined;
  if (Math.max(view.actualRows, view.plannedRows) < T.misestimateMinRows) return undefined;
  // A misestimate flows up the tree; report it where it starts, not at every node above.
  const inherited = view.children.some((child) => {
    if (isInitPlan(child.node)) return false;
    const below = misestimate(child);
    return below !== undefined && below.direction === estimate.direction && below.factor >= estimate.factor / 2;
  });
  if (inherited) return undefined;
  const severity = estimate.factor >= T.misestimateHighFactor ? 'high' : 'warning';
  const loops = view.loops > 1 ? ` over ${formatCount(view.loops)} loops` : '';
  return finding(
    view,
    'row-misestimate',
    severity,
    { plannedRows: view.plannedRows, actualRows: view.actualRows, factor: estimate.factor, loops: view.loops },
    `${view.label} returned ${formatCount(view.actualRows)} rows where the planner expected ${formatCount(view.plannedRows)}${loops} ` +
      `(${formatCount(estimate.factor)}× ${estimate.direction}-estimated)`,
    misestimateSuggestion(view),
  );
}

function misestimateSuggestion(view: PlanNodeView): string {
  const node = view.node;
  const relation = node['Relation Name'];
  if (relation) {
    const columns = expressionColumns([node.Filter, node['Index Cond'], node['Recheck Cond']].filter(Boolean).join(' AND ')).columns;
    const table = quoteIdentifier(relation);
    if (columns.length >= 2) {
      return `run ANALYZE ${table}; if it is analyzed already, the conditions on ${columns.join(', ')} are probably correlated: ` +
        `CREATE STATISTICS ON ${columns.map(quoteIdentifier).join(', ')} FROM ${table}; ANALYZE ${table}`;
    }
    if (columns.length === 1) {
      return `run ANALYZE ${table}; if it is analyzed already, sample ${columns[0]} more finely: ` +
        `ALTER TABLE ${table} ALTER COLUMN ${quoteIdentifier(columns[0]!)} SET STATISTICS 1000; ANALYZE ${table}`;
    }
    return `run ANALYZE ${table} (autovacuum may not have analyzed it since it last changed much)`;
  }
  if (node['Node Type'].endsWith('Join') || node['Node Type'] === 'Nested Loop') {
    return 'the join estimate is off although its inputs\' are not: the join columns are probably skewed or correlated; ' +
      'ANALYZE the joined tables, and consider CREATE STATISTICS on the columns they are joined and filtered on';
  }
  if (node['Node Type'] === 'Aggregate' && node['Group Key']?.length) {
    return `the number of groups (${node['Group Key'].join(', ')}) is misestimated: ANALYZE the table, and for several ` +
      'group columns CREATE STATISTICS (ndistinct) on them';
  }
  return 'ANALYZE the tables below this node, so the planner sizes this step right';
}

// ---------------------------------------------------------------------------------------------
// filters

/** The seq-scan rule's own test, shared so filter-discards does not repeat its finding. */
function seqScanDiscards(view: PlanNodeView): { rowsRead: number; fraction: number } | undefined {
  if (view.node['Node Type'] !== 'Seq Scan' || !view.node.Filter || !view.executed) return undefined;
  const rowsRead = view.rowsRemovedByFilter + view.actualRows;
  const fraction = rowsRead > 0 ? view.rowsRemovedByFilter / rowsRead : 0;
  return rowsRead >= T.seqScanMinRowsRead && fraction > T.seqScanRemovedFraction ? { rowsRead, fraction } : undefined;
}

function seqScanNeedsIndex(view: PlanNodeView, context: RuleContext): PlanFinding | undefined {
  const discards = seqScanDiscards(view);
  if (!discards) return undefined;
  const relation = view.node['Relation Name'] ?? view.node.Alias ?? 'the table';
  return finding(
    view,
    'seq-scan-needs-index',
    discards.rowsRead >= T.seqScanHighRowsRead ? 'high' : 'warning',
    {
      rowsRead: discards.rowsRead,
      rowsReturned: view.actualRows,
      rowsRemoved: view.rowsRemovedByFilter,
      removedPercent: discards.fraction * 100,
    },
    `${view.label} removes ${formatPercent(discards.fraction)} of ${formatCount(discards.rowsRead)} rows`,
    indexSuggestion(relation, [view.node.Filter], context.indexes, view),
  );
}

function filterDiscards(view: PlanNodeView, context: RuleContext): PlanFinding | undefined {
  if (!view.executed) return undefined;
  const candidates = [
    { field: 'Filter', expression: view.node.Filter, removed: view.rowsRemovedByFilter },
    { field: 'Join Filter', expression: view.node['Join Filter'], removed: view.rowsRemovedByJoinFilter },
  ].sort((a, b) => b.removed - a.removed);
  const worst = candidates[0]!;
  if (worst.removed < T.filterDiscardMinRemovedRows) return undefined;
  const rowsRead = worst.removed + view.actualRows;
  const fraction = worst.removed / rowsRead;
  if (fraction <= T.filterDiscardFraction) return undefined;
  if (worst.field === 'Filter' && seqScanDiscards(view)) return undefined;
  return finding(
    view,
    'filter-discards',
    fraction > T.filterDiscardHighFraction ? 'high' : 'warning',
    { rowsRemoved: worst.removed, rowsReturned: view.actualRows, removedPercent: fraction * 100, loops: view.loops },
    `${view.label} discards ${formatPercent(fraction)} of the ${formatCount(rowsRead)} rows it reads (${worst.field}: ${worst.expression ?? '?'})`,
    filterSuggestion(view, worst.field, context),
  );
}

function filterSuggestion(view: PlanNodeView, field: string, context: RuleContext): string {
  const node = view.node;
  const relation = node['Relation Name'] ?? 'the table';
  if (field === 'Join Filter') {
    const columns = expressionColumns(node['Join Filter']).columns;
    return `the condition on ${columns.join(', ') || 'these columns'} is checked after rows are joined: make it part of the join ` +
      'condition (an equality the planner can hash or look up) or filter the inputs before the join';
  }
  switch (node['Node Type']) {
    case 'Index Scan':
    case 'Index Only Scan':
      return `the index finds rows that the filter then throws away; ${indexSuggestion(relation, [node['Index Cond'], node.Filter], context.indexes, view)}`;
    case 'Bitmap Heap Scan':
      return `the index finds rows that the filter then throws away; ${indexSuggestion(relation, [node['Recheck Cond'], node.Filter], context.indexes, view)}`;
    case 'Seq Scan':
      return `if this query runs often, ${indexSuggestion(relation, [node.Filter], context.indexes, view)}`;
    default:
      return `filter earlier, in the scans below, so fewer rows reach ${view.label}`;
  }
}

/**
 * "add an index on documents (topic): CREATE INDEX ON documents (topic)", unless `existing` holds
 * an index that would serve: then why the planner did not use the one that is there.
 */
export function indexSuggestion(
  relation: string,
  expressions: (string | undefined)[],
  existing: ExistingIndex[] = [],
  view?: PlanNodeView,
): string {
  const parsed = expressions.filter((expression): expression is string => Boolean(expression)).map(expressionColumns);
  const columns = [...new Set(parsed.flatMap((part) => part.columns))];
  const wrapped = [...new Set(parsed.flatMap((part) => part.wrappedExpressions))];
  const table = quoteIdentifier(relation);
  if (columns.length === 0) return `add an index on ${table} matching the condition`;
  const patternColumns = [...new Set(parsed.flatMap((part) => part.patternColumns))];
  const gin = parsed.some((part) => part.usesGinOperator);
  const inWrapped = (column: string) => wrapped.some((expression) => expressionColumns(expression).columns.includes(column));
  const keys = [...wrapped.map((expression) => `(${expression})`), ...columns.filter((column) => !inWrapped(column)).map(quoteIdentifier)];

  // An index serves the suggestion when its leading keys are exactly the suggested ones (in any
  // order): one on (id) alone does not serve a suggested (id, n).
  const leadingKeysAre = (index: ExistingIndex, wanted: string[]) => {
    const leading = index.keys.slice(0, wanted.length).map(normalizeKey);
    return leading.length === wanted.length && wanted.every((key) => leading.includes(normalizeKey(key)));
  };
  const serving = existing.find(
    (index) =>
      index.relation === relation &&
      (patternColumns.length > 0
        ? /trgm/.test(index.definition) && leadingKeysAre(index, patternColumns)
        : (!gin || index.method === 'gin' || index.method === 'gist') && leadingKeysAre(index, keys)),
  );
  if (serving) return existingIndexAdvice(serving, table, view);

  if (patternColumns.length > 0) {
    const trigramKeys = patternColumns.map((column) => `${quoteIdentifier(column)} gin_trgm_ops`).join(', ');
    return `add a trigram index on ${table} (${patternColumns.join(', ')}), since a B-tree cannot serve a leading-wildcard LIKE ` +
      `or a regex: CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX ON ${table} USING GIN (${trigramKeys})`;
  }
  if (parsed.some((part) => part.hasOr) && columns.length > 1) {
    return `add one index per OR branch on ${table}: ${columns.map((column) => `(${column})`).join(', ')}; PostgreSQL combines them with a BitmapOr`;
  }
  const kind = gin ? 'a GIN index' : wrapped.length > 0 ? 'an expression index' : 'an index';
  return `add ${kind} on ${table} (${keys.join(', ')}): CREATE INDEX ON ${table}${gin ? ' USING GIN' : ''} (${keys.join(', ')})`;
}

/** `(lower(title))`, `lower(title)` and `"Title"` compare as the index prints its keys. */
function normalizeKey(key: string): string {
  let text = key.trim();
  while (text.startsWith('(') && text.endsWith(')')) text = text.slice(1, -1).trim();
  return text.replace(/"/g, '').replace(/\s+/g, '').toLowerCase();
}

/** Below this many rows read, a sequential scan is usually the cheaper plan, index or not. */
const SMALL_TABLE_ROWS = 10_000;

function existingIndexAdvice(index: ExistingIndex, table: string, view: PlanNodeView | undefined): string {
  const what = `${index.name} on ${table} (${index.keys.join(', ')}) already exists`;
  if (!view || !view.node['Node Type'].includes('Seq Scan')) {
    return `${what}; if it is not the one used here, compare plans with it forced (SET LOCAL enable_seqscan = off) and check the estimates with ANALYZE ${table}`;
  }
  const rowsRead = view.actualRows + view.rowsRemovedByFilter;
  if (rowsRead < SMALL_TABLE_ROWS) {
    return `${what}, but the planner chose to scan: the table is small (${formatCount(rowsRead)} rows read), and reading it whole ` +
      'is estimated cheaper than the index; it will switch to the index as the table grows (to compare now: SET LOCAL enable_seqscan = off)';
  }
  return `${what}, but the planner chose to scan: it expected ${formatCount(view.plannedRows)} matching rows, too many for the index to pay off; ` +
    `if far fewer match, ANALYZE ${table} so it knows; otherwise compare with SET LOCAL enable_seqscan = off`;
}

function quoteIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// spills

interface SpillFigures {
  totalKb: number;
  largestKb: number;
  processes: number;
}

/** The node's own figures and, for a parallel node, each worker's: every process spills on its own. */
function perProcess<T>(node: PlanNode, read: (figures: PlanNode | Record<string, unknown>) => T | undefined): T[] {
  return [node, ...(node.Workers ?? [])].map(read).filter((value): value is T => value !== undefined);
}

function sortSpill(view: PlanNodeView): PlanFinding | undefined {
  if (view.node['Node Type'] !== 'Sort') return undefined;
  const spills = perProcess(view.node, (figures) => {
    const disk = figures['Sort Space Type'] === 'Disk' || /external/i.test(String(figures['Sort Method'] ?? ''));
    return disk ? Number(figures['Sort Space Used'] ?? 0) : undefined;
  });
  if (spills.length === 0) return undefined;
  const spill = spillFigures(spills);
  const method = String(view.node['Sort Method'] ?? 'external sort');
  const sortKey = view.node['Sort Key'] ?? [];
  return finding(
    view,
    'sort-spill',
    'warning',
    { diskKb: spill.totalKb, largestSpillKb: spill.largestKb, spilledProcesses: spill.processes, rows: view.actualRows },
    `${view.label} spills to disk: ${method} of ${formatCount(view.actualRows)} rows using ${formatKb(spill.totalKb)} of temp files` +
      (spill.processes > 1 ? ` across ${spill.processes} processes` : ''),
    // An in-memory sort needs more than the on-disk run format, roughly twice as much.
    `raise work_mem for this query: SET LOCAL work_mem = '${workMemSuggestion(spill.largestKb * 2)}'` + sortIndexAdvice(view, sortKey),
  );
}

function sortIndexAdvice(view: PlanNodeView, sortKey: string[]): string {
  const relations = new Set<string>();
  const collect = (below: PlanNodeView) => {
    if (below.node['Relation Name']) relations.add(below.node['Relation Name']);
    below.children.forEach(collect);
  };
  collect(view);
  if (relations.size !== 1 || sortKey.length === 0) return ', or sort fewer rows (filter before sorting, or LIMIT)';
  const [relation] = [...relations];
  const keys = sortKey.map((key) => key.replace(/^(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)\./, ''));
  return `, or read the rows in order from an index: CREATE INDEX ON ${quoteIdentifier(relation!)} (${keys.join(', ')})`;
}

function spillFigures(kilobytes: number[]): SpillFigures {
  return { totalKb: kilobytes.reduce((sum, value) => sum + value, 0), largestKb: Math.max(...kilobytes), processes: kilobytes.length };
}

function hashSpill(view: PlanNodeView): PlanFinding | undefined {
  if (view.node['Node Type'] !== 'Hash') return undefined;
  const batches = numberField(view.node, 'Hash Batches') ?? 1;
  if (batches <= 1) return undefined;
  const originalBatches = numberField(view.node, 'Original Hash Batches') ?? batches;
  const peakKb = numberField(view.node, 'Peak Memory Usage') ?? 0;
  const input = view.children[0]?.label ?? 'its input';
  const grew = batches > originalBatches ? `; the planner planned ${originalBatches}, so the input was bigger than it expected` : '';
  return finding(
    view,
    'hash-spill',
    'warning',
    { hashBatches: batches, originalHashBatches: originalBatches, peakMemoryKb: peakKb, rows: view.actualRows },
    `${view.label} of ${input} splits into ${formatCount(batches)} batches (peak ${formatKb(peakKb)} in memory): ` +
      `the hash table did not fit, so the join writes both sides to temp files${grew}`,
    `raise work_mem for this query (a hash table may use work_mem × hash_mem_multiplier; this one needs about ` +
      `${formatKb(peakKb * batches)}): SET LOCAL work_mem = '${workMemSuggestion(peakKb * batches)}', or hash fewer or narrower rows`,
  );
}

function hashAggSpill(view: PlanNodeView): PlanFinding | undefined {
  if (view.node['Node Type'] !== 'Aggregate') return undefined;
  const diskKb = perProcess(view.node, (figures) => (Number(figures['Disk Usage'] ?? 0) > 0 ? Number(figures['Disk Usage']) : undefined));
  const batches = Math.max(1, ...perProcess(view.node, (figures) => (figures['HashAgg Batches'] !== undefined ? Number(figures['HashAgg Batches']) : undefined)));
  if (diskKb.length === 0 && batches <= 1) return undefined;
  const spill = spillFigures(diskKb.length > 0 ? diskKb : [0]);
  const peakKb = Math.max(0, ...perProcess(view.node, (figures) => (figures['Peak Memory Usage'] !== undefined ? Number(figures['Peak Memory Usage']) : undefined)));
  const neededKb = spill.largestKb + peakKb;
  return finding(
    view,
    'hash-agg-spill',
    'warning',
    {
      diskUsageKb: spill.totalKb,
      hashAggBatches: batches,
      peakMemoryKb: peakKb,
      plannedPartitions: numberField(view.node, 'Planned Partitions') ?? 0,
      groups: view.actualRows,
    },
    `${view.label} spills to disk: ${formatCount(view.actualRows)} groups in ${formatCount(batches)} batches, ` +
      `${formatKb(spill.totalKb)} written to temp files`,
    `raise work_mem for this query (a hash aggregate may use work_mem × hash_mem_multiplier; this one needs about ` +
      `${formatKb(neededKb)}): SET LOCAL work_mem = '${workMemSuggestion(neededKb)}', or group fewer rows` +
      (view.node['Group Key']?.length ? ` by fewer keys than (${view.node['Group Key'].join(', ')})` : ''),
  );
}

// ---------------------------------------------------------------------------------------------
// index and heap access

function heapFetches(view: PlanNodeView): PlanFinding | undefined {
  if (view.node['Node Type'] !== 'Index Only Scan' || !view.executed) return undefined;
  // Heap Fetches is a total over all loops, unlike Actual Rows.
  const fetches = numberField(view.node, 'Heap Fetches') ?? 0;
  const rows = view.actualRows + view.rowsRemovedByFilter;
  const fraction = rows > 0 ? fetches / rows : 0;
  if (fetches < T.heapFetchMinFetches || fraction <= T.heapFetchFraction) return undefined;
  const relation = quoteIdentifier(view.node['Relation Name'] ?? 'the table');
  return finding(
    view,
    'heap-fetches',
    'warning',
    { heapFetches: fetches, rows, heapFetchPercent: fraction * 100 },
    `${view.label} fetched ${formatCount(fetches)} of its ${formatCount(rows)} rows from the table (${formatPercent(fraction)}): ` +
      'the visibility map is out of date, so the index-only scan reads the heap anyway',
    `VACUUM ${relation} to bring its visibility map up to date, and make sure autovacuum keeps up with it ` +
      '(for insert-heavy tables, a lower autovacuum_vacuum_insert_scale_factor)',
  );
}

function lossyBitmap(view: PlanNodeView): PlanFinding | undefined {
  if (view.node['Node Type'] !== 'Bitmap Heap Scan' || !view.executed) return undefined;
  const lossy = numberField(view.node, 'Lossy Heap Blocks') ?? 0;
  if (lossy <= 0) return undefined;
  const exact = numberField(view.node, 'Exact Heap Blocks') ?? 0;
  const recheckRemoved = (numberField(view.node, 'Rows Removed by Index Recheck') ?? 0) * view.loops;
  const fraction = lossy / (lossy + exact);
  const neededKb = ((lossy + exact) * BITMAP_BYTES_PER_PAGE) / 1024;
  return finding(
    view,
    'lossy-bitmap',
    'warning',
    { lossyHeapBlocks: lossy, exactHeapBlocks: exact, lossyPercent: fraction * 100, rowsRemovedByRecheck: recheckRemoved },
    `${view.label} went lossy on ${formatCount(lossy)} of ${formatCount(lossy + exact)} heap blocks (${formatPercent(fraction)}): ` +
      `the bitmap did not fit in work_mem, so every row of those blocks is rechecked (${formatCount(recheckRemoved)} removed by the recheck)`,
    `raise work_mem for this query so the bitmap stays exact (about ${formatKb(neededKb)}): ` +
      `SET LOCAL work_mem = '${workMemSuggestion(neededKb)}', or make the index condition more selective`,
  );
}

// ---------------------------------------------------------------------------------------------
// joins, cache, time

function nestedLoopExplosion(view: PlanNodeView, context: RuleContext): PlanFinding | undefined {
  if (view.node['Node Type'] !== 'Nested Loop' || !view.executed || !context.executionMs) return undefined;
  const inner = view.children.find((child) => child.node['Parent Relationship'] === 'Inner') ?? view.children[1];
  const outer = view.children.find((child) => child.node['Parent Relationship'] === 'Outer') ?? view.children[0];
  if (!inner) return undefined;
  const fraction = inner.totalTimeMs / context.executionMs;
  if (inner.loops < T.nestedLoopMinInnerLoops || fraction < T.nestedLoopTimeFraction) return undefined;
  const outerRows = outer?.actualRows ?? 0;
  const outerPlanned = outer?.plannedRows ?? 0;
  const underEstimated = outerRows >= T.misestimateFactor * Math.max(outerPlanned, 1);
  return finding(
    view,
    'nested-loop-explosion',
    fraction >= T.nestedLoopHighTimeFraction ? 'high' : 'warning',
    { innerLoops: inner.loops, innerTimeMs: inner.totalTimeMs, innerTimePercent: fraction * 100, outerRows, outerPlannedRows: outerPlanned },
    `${view.label} runs its inner side (${inner.label}) ${formatCount(inner.loops)} times, ` +
      `${formatPercent(fraction)} of execution time (${formatMs(inner.totalTimeMs)})`,
    underEstimated
      ? `the planner expected ${formatCount(outerPlanned)} outer rows, not ${formatCount(outerRows)}: fix that estimate ` +
          '(ANALYZE, CREATE STATISTICS) and it can pick a hash or merge join that reads the inner side once'
      : 'a hash or merge join would read the inner side once: check that enable_hashjoin and enable_mergejoin are on and the ' +
          'join condition is an equality; otherwise make each inner lookup cheaper with an index on the inner join columns',
  );
}

function lowCacheHit(view: PlanNodeView): PlanFinding | undefined {
  if (!view.hasBuffers) return undefined;
  const read = view.exclusiveSharedReadBlocks;
  const hit = view.exclusiveSharedHitBlocks;
  const fraction = read + hit > 0 ? read / (read + hit) : 0;
  if (read < T.cacheMissMinReadBlocks || fraction <= T.cacheMissFraction) return undefined;
  const readKb = (read * BLOCK_BYTES) / 1024;
  return finding(
    view,
    'low-cache-hit',
    'warning',
    { sharedReadBlocks: read, sharedHitBlocks: hit, readPercent: fraction * 100, readKb },
    `${view.label} read ${formatCount(read)} blocks (${formatKb(readKb)}) from outside shared buffers: ` +
      `${formatPercent(fraction)} of its ${formatCount(read + hit)} block accesses missed the cache`,
    'run it again: if the misses stay, read less (an index instead of a scan, fewer or narrower rows) or give the server more ' +
      'shared_buffers; a table bigger than a quarter of shared_buffers is seq-scanned through a small ring buffer and always misses',
  );
}

function hotNode(view: PlanNodeView, context: RuleContext, findings: PlanFinding[]): PlanFinding | undefined {
  const executionMs = context.executionMs;
  if (!view.executed || !executionMs || executionMs < T.hotNodeMinExecutionMs) return undefined;
  const fraction = view.exclusiveTimeMs / executionMs;
  if (fraction <= T.hotNodeFraction) return undefined;
  const onThisNode = findings.filter((other) => other.nodeId === view.id).map((other) => other.rule);
  return finding(
    view,
    'hot-node',
    'info',
    { ownTimeMs: view.exclusiveTimeMs, executionMs, ownTimePercent: fraction * 100 },
    `${view.label} takes ${formatPercent(fraction)} of execution time (${formatMs(view.exclusiveTimeMs)} of ${formatMs(executionMs)} on its own)`,
    onThisNode.length > 0 ? `start here: see ${onThisNode.join(', ')} on this node` : hotNodeAdvice(view, context),
  );
}

/** A new index is worth it only for a selective filter; an existing one needs no such condition. */
function seqScanAdvice(suggestion: string): string {
  return suggestion.startsWith('add ') ? `start here: if the filter is selective, ${suggestion}` : `start here: ${suggestion}`;
}

function hotNodeAdvice(view: PlanNodeView, context: RuleContext): string {
  const node = view.node;
  switch (node['Node Type']) {
    case 'Seq Scan':
      return node.Filter
        ? seqScanAdvice(indexSuggestion(node['Relation Name'] ?? 'the table', [node.Filter], context.indexes, view))
        : 'start here: the query reads the whole table; it can only get faster by reading less of it';
    case 'Sort':
      return 'start here: sort fewer rows, or read them in order from an index on the sort key';
    case 'Index Scan':
    case 'Index Only Scan':
    case 'Bitmap Heap Scan':
      return 'start here: the index access itself dominates; check how many rows it returns and whether a covering index would do';
    default:
      return `start here: most of the time is spent in this ${node['Node Type']}; reduce the rows that reach it`;
  }
}
