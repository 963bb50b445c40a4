import type { ExplainOutput, PlanNode } from './plan-types';

/**
 * One plan node with the figures the rules compare, adjusted the way dalibo/pev2 does it: per-loop
 * averages multiplied by Actual Loops, and parallel work divided over the processes that shared it.
 */
export interface PlanNodeView {
  /** Pre-order number, 1 = the top node. */
  id: number;
  node: PlanNode;
  label: string;
  /** Labels from the top node down to this one, joined by ` > `. */
  path: string;
  depth: number;
  parent?: PlanNodeView;
  children: PlanNodeView[];
  /** The plan was captured with ANALYZE (actual figures present). */
  analyzed: boolean;
  /** ANALYZE ran this node at least once (`never executed` nodes have 0 loops). */
  executed: boolean;
  loops: number;
  /** Rows produced over all loops. */
  actualRows: number;
  /** The planner's estimate over all loops, comparable with actualRows. */
  plannedRows: number;
  rowsRemovedByFilter: number;
  rowsRemovedByJoinFilter: number;
  /** Wall-clock time inside this node and everything it called, in ms. */
  totalTimeMs: number;
  /** totalTimeMs minus the children's, never below 0. */
  exclusiveTimeMs: number;
  /** Buffer counts present (EXPLAIN ran with BUFFERS). */
  hasBuffers: boolean;
  /** Shared buffers this node itself found in the cache / had to read, children excluded. */
  exclusiveSharedHitBlocks: number;
  exclusiveSharedReadBlocks: number;
  /** Processes that ran this node in parallel (leader + workers under a Gather), 1 otherwise. */
  parallelProcesses: number;
  /**
   * The node may legitimately stop before producing every row it could (under a Limit or a Merge
   * Join, on the inner side of a semi/anti or inner-unique nested loop, in a SubPlan or InitPlan
   * such as EXISTS), so fewer actual rows than planned says nothing about the estimate.
   */
  mayStopEarly: boolean;
}

const JOIN_NODE_TYPES = new Set(['Nested Loop', 'Hash Join', 'Merge Join']);
const AGGREGATE_LABELS: Record<string, string> = { Hashed: 'HashAggregate', Sorted: 'GroupAggregate', Mixed: 'MixedAggregate' };

export function numberField(node: Record<string, unknown>, field: string): number | undefined {
  const value = node[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The node as PostgreSQL's text format names it: `Parallel Seq Scan on documents d`, `HashAggregate`. */
export function nodeLabel(node: PlanNode): string {
  let type = node['Node Type'];
  if (type === 'Aggregate') type = AGGREGATE_LABELS[node.Strategy ?? ''] ?? 'Aggregate';
  if (type === 'SetOp' && node.Strategy === 'Hashed') type = 'HashSetOp';
  if (type === 'ModifyTable' && node.Operation) type = node.Operation;
  if (JOIN_NODE_TYPES.has(type) && node['Join Type'] && node['Join Type'] !== 'Inner') {
    type = type === 'Nested Loop' ? `Nested Loop ${node['Join Type']} Join` : type.replace(' Join', ` ${node['Join Type']} Join`);
  }
  if (node['Partial Mode'] && node['Partial Mode'] !== 'Simple') type = `${node['Partial Mode']} ${type}`;
  if (node['Parallel Aware']) type = `Parallel ${type}`;

  let label = type;
  if (node['Index Name']) label += ` using ${node['Index Name']}`;
  const target = node['Relation Name'] ?? node['CTE Name'] ?? node['Function Name'];
  if (target) {
    label += ` on ${target}`;
    if (node.Alias && node.Alias !== target) label += ` ${node.Alias}`;
  } else if (node['Node Type'] === 'Subquery Scan' && node.Alias) {
    label += ` on ${node.Alias}`;
  }
  return node['Subplan Name'] ? `${node['Subplan Name']}: ${label}` : label;
}

export function isInitPlan(node: PlanNode): boolean {
  return node['Parent Relationship'] === 'InitPlan';
}

/** The parallel section a node runs in: how many processes ran it, and how the planner split rows. */
interface ParallelSection {
  processes: number;
  /** PostgreSQL's get_parallel_divisor(): workers + the leader's share (1 − 0.3 × workers, if positive). */
  rowDivisor: number;
}

const SERIAL: ParallelSection = { processes: 1, rowDivisor: 1 };

/** Every node of the plan in pre-order (a parent before its children), with adjusted figures. */
export function planNodes(explain: ExplainOutput): PlanNodeView[] {
  const views: PlanNodeView[] = [];
  const visit = (node: PlanNode, parent: PlanNodeView | undefined, section: ParallelSection): { view: PlanNodeView; partial: boolean } => {
    const label = nodeLabel(node);
    const analyzed = numberField(node, 'Actual Loops') !== undefined;
    const loops = numberField(node, 'Actual Loops') ?? 0;
    // A node's own figures are per loop; "loops" of a parallel node are its processes, which ran at
    // the same time, so wall time is the per-loop time × loops shared out over those processes.
    const timeLoops = loops / section.processes;
    const view: PlanNodeView = {
      id: views.length + 1,
      node,
      label,
      path: parent ? `${parent.path} > ${label}` : label,
      depth: parent ? parent.depth + 1 : 0,
      parent,
      children: [],
      analyzed,
      executed: loops > 0,
      loops,
      actualRows: (numberField(node, 'Actual Rows') ?? 0) * loops,
      plannedRows: 0,
      rowsRemovedByFilter: (numberField(node, 'Rows Removed by Filter') ?? 0) * loops,
      rowsRemovedByJoinFilter: (numberField(node, 'Rows Removed by Join Filter') ?? 0) * loops,
      totalTimeMs: (numberField(node, 'Actual Total Time') ?? 0) * timeLoops,
      exclusiveTimeMs: 0,
      hasBuffers: numberField(node, 'Shared Hit Blocks') !== undefined,
      exclusiveSharedHitBlocks: 0,
      exclusiveSharedReadBlocks: 0,
      parallelProcesses: section.processes,
      mayStopEarly: mayStopEarly(node, parent),
    };
    views.push(view);
    const childSection = isGather(node) ? gatherSection(node) : section;
    let partial = node['Parallel Aware'] === true;
    for (const child of node.Plans ?? []) {
      const visited = visit(child, view, childSection);
      view.children.push(visited.view);
      if (visited.partial && !isInitPlan(child)) partial = true;
    }
    // Above a parallel-aware scan (and below its Gather) each process sees only its share of the
    // rows, and Plan Rows is the planner's estimate of one share; elsewhere it is per loop.
    const planRows = numberField(node, 'Plan Rows') ?? 0;
    view.plannedRows = partial && section.processes > 1 ? planRows * (Math.max(loops, 1) / section.processes) * section.rowDivisor : planRows * Math.max(loops, 1);
    return { view, partial };
  };
  visit(explain.Plan, undefined, SERIAL);
  assignExclusiveFigures(views);
  return views;
}

function gatherSection(node: PlanNode): ParallelSection {
  const planned = numberField(node, 'Workers Planned') ?? 0;
  const launched = numberField(node, 'Workers Launched') ?? planned;
  const leaderShare = 1 - 0.3 * planned;
  return { processes: launched + 1, rowDivisor: planned + (leaderShare > 0 ? leaderShare : 0) };
}

function isGather(node: PlanNode): boolean {
  return node['Node Type'] === 'Gather' || node['Node Type'] === 'Gather Merge';
}

function mayStopEarly(node: PlanNode, parent: PlanNodeView | undefined): boolean {
  if (!parent) return false;
  // EXISTS, ANY and friends stop at the first row that decides them.
  if (node['Parent Relationship'] === 'SubPlan' || isInitPlan(node)) return true;
  const parentType = parent.node['Node Type'];
  if (parentType === 'Limit' || parentType === 'Merge Join') return true;
  // The inner side of a semi/anti join, or of a join whose inner match is unique, stops at its first match.
  const joinType = parent.node['Join Type'];
  if (parentType === 'Nested Loop' && node['Parent Relationship'] === 'Inner') {
    if (joinType === 'Semi' || joinType === 'Anti' || parent.node['Inner Unique'] === true) return true;
  }
  return parent.mayStopEarly && !readsWholeInput(parent.node);
}

/** Nodes that consume every input row before returning one, so a Limit above them cuts nothing below. */
function readsWholeInput(node: PlanNode): boolean {
  const type = node['Node Type'];
  if (type === 'Sort' || type === 'Hash') return true;
  return type === 'Aggregate' && (node.Strategy === 'Hashed' || node.Strategy === 'Plain');
}

/**
 * Own time and own buffers: the node's total minus what it spent in its children. Children that
 * are InitPlans are the exception, because an InitPlan runs when some node first evaluates its
 * output, and its cost lands inside that node's figures, not its holder's:
 * - a CTE (an InitPlan named `CTE x`) is run by the CTE Scan that reads it, so its total is
 *   subtracted from that scan (with several scans of one CTE, each has the whole CTE subtracted,
 *   clamped at 0, which under-counts their own time);
 * - another InitPlan is subtracted from the one node that references its output (`$0` before
 *   PostgreSQL 17, `(InitPlan 1).col1` from 17 on), or from a holder that has nothing else to run;
 *   otherwise from none, as pev2 does (then the evaluating node's own time includes the InitPlan).
 */
function assignExclusiveFigures(views: PlanNodeView[]): void {
  const extraSubtractions = new Map<PlanNodeView, PlanNodeView[]>();
  const subtractFrom = (view: PlanNodeView, initPlan: PlanNodeView) => extraSubtractions.set(view, [...(extraSubtractions.get(view) ?? []), initPlan]);
  for (const view of views) {
    if (!isInitPlan(view.node) || !view.parent) continue;
    const name = view.node['Subplan Name'] ?? '';
    if (name.startsWith('CTE ')) {
      const cteName = name.slice(4);
      for (const reader of views) if (reader.node['Node Type'] === 'CTE Scan' && reader.node['CTE Name'] === cteName) subtractFrom(reader, view);
      continue;
    }
    const holder = view.parent;
    const evaluators = [holder, ...descendantsOutsideInitPlans(holder)].filter((candidate) => referencesInitPlan(candidate.node, name));
    if (evaluators.length === 1) subtractFrom(evaluators[0]!, view);
    // Without VERBOSE a node's output list is not printed; a holder with nothing else to run (a
    // Result returning the InitPlan's value) is then the only node that can have evaluated it.
    else if (evaluators.length === 0 && holder.children.every((child) => isInitPlan(child.node))) subtractFrom(holder, view);
  }
  for (const view of views) {
    const subtracted = [...view.children.filter((child) => !isInitPlan(child.node)), ...(extraSubtractions.get(view) ?? [])];
    const sum = (figure: (child: PlanNodeView) => number) => subtracted.reduce((total, child) => total + figure(child), 0);
    view.exclusiveTimeMs = Math.max(0, view.totalTimeMs - sum((child) => child.totalTimeMs));
    const hit = (candidate: PlanNodeView) => numberField(candidate.node, 'Shared Hit Blocks') ?? 0;
    const read = (candidate: PlanNodeView) => numberField(candidate.node, 'Shared Read Blocks') ?? 0;
    view.exclusiveSharedHitBlocks = Math.max(0, hit(view) - sum(hit));
    view.exclusiveSharedReadBlocks = Math.max(0, read(view) - sum(read));
  }
}

function descendantsOutsideInitPlans(view: PlanNodeView): PlanNodeView[] {
  return view.children.filter((child) => !isInitPlan(child.node)).flatMap((child) => [child, ...descendantsOutsideInitPlans(child)]);
}

/** Does any expression of `node` read the output of the InitPlan called `subplanName`? */
function referencesInitPlan(node: PlanNode, subplanName: string): boolean {
  const returned = /\(returns (.+)\)$/.exec(subplanName)?.[1]?.split(',').map((param) => param.trim()) ?? [];
  const patterns = returned.length > 0
    ? returned.map((param) => new RegExp(`\\${param}(?!\\d)`))
    : [new RegExp(`\\(${subplanName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)\\.`)];
  return Object.entries(node).some(([field, value]) => {
    if (field === 'Plans' || field === 'Subplan Name') return false;
    const texts = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
    return texts.some((text) => patterns.some((pattern) => pattern.test(text)));
  });
}
