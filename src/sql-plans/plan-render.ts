import { formatCount, formatKb, formatMs, formatPercent } from './plan-format';
import { numberField, planNodes, type PlanNodeView } from './plan-nodes';
import type { PlanFinding } from '../contracts/plan-finding';
import type { ExplainOutput } from './plan-types';

/** Conditions worth seeing under a node, in the order psql prints them. */
const DETAIL_FIELDS = ['Index Cond', 'Recheck Cond', 'Hash Cond', 'Merge Cond', 'Join Filter', 'Filter', 'Sort Key', 'Group Key'] as const;

/**
 * The plan as an indented tree (time, rows and the telling figures of each node, numbered as the
 * findings refer to them), followed by the findings, most severe first. Pure: returns the text.
 */
export function renderPlan(explain: ExplainOutput, findings: PlanFinding[]): string {
  const views = planNodes(explain);
  const executionMs = numberField(explain, 'Execution Time');
  const planningMs = numberField(explain, 'Planning Time');
  const rulesByNode = new Map<number, string[]>();
  for (const found of findings) rulesByNode.set(found.nodeId, [...(rulesByNode.get(found.nodeId) ?? []), found.rule]);

  const idWidth = String(views.length).length + 1;
  const lines: string[] = [];
  for (const view of views) {
    const margin = ' '.repeat(idWidth + 1);
    const indent = view.depth === 0 ? '' : `${'   '.repeat(view.depth - 1)}-> `;
    const rules = rulesByNode.get(view.id);
    lines.push(`${`#${view.id}`.padEnd(idWidth)} ${indent}${view.label}  ${nodeFigures(view, executionMs).join(' · ')}${rules ? `  [${rules.join(', ')}]` : ''}`);
    const detailIndent = `${margin}${'   '.repeat(view.depth)}   `;
    for (const field of DETAIL_FIELDS) {
      const value = view.node[field];
      if (value === undefined) continue;
      lines.push(`${detailIndent}${field}: ${Array.isArray(value) ? value.join(', ') : String(value)}`);
    }
  }

  const timing = [executionMs !== undefined ? `execution ${formatMs(executionMs)}` : 'not executed (no ANALYZE)'];
  if (planningMs !== undefined) timing.push(`planning ${formatMs(planningMs)}`);
  lines.push('', `${timing.join(', ')}`, '');
  lines.push(...renderFindings(findings));
  return lines.join('\n');
}

export function renderFindings(findings: PlanFinding[]): string[] {
  if (findings.length === 0) return ['no findings: nothing in this plan crosses a rule threshold'];
  const lines = [`${findings.length} finding${findings.length === 1 ? '' : 's'}:`];
  for (const found of findings) {
    lines.push(`  ${found.severity.toUpperCase().padEnd(8)} ${found.rule} at #${found.nodeId} ${found.nodePath}`);
    lines.push(`           ${found.message}`);
    lines.push(`           fix: ${found.suggestion}`);
  }
  return lines;
}

function nodeFigures(view: PlanNodeView, executionMs: number | undefined): string[] {
  const node = view.node;
  const estimate = formatCount(view.plannedRows);
  if (!view.analyzed) return [`est ${estimate} rows`];
  if (!view.executed) return ['never executed'];
  const share = executionMs ? `, ${formatPercent(view.exclusiveTimeMs / executionMs)}` : '';
  const figures = [
    `${formatMs(view.totalTimeMs)} (own ${formatMs(view.exclusiveTimeMs)}${share})`,
    `${formatCount(view.actualRows)} rows (est ${estimate})`,
  ];
  if (view.loops > 1) figures.push(`${formatCount(view.loops)} loops`);
  if (view.rowsRemovedByFilter > 0) figures.push(`${formatCount(view.rowsRemovedByFilter)} removed by filter`);
  if (view.rowsRemovedByJoinFilter > 0) figures.push(`${formatCount(view.rowsRemovedByJoinFilter)} removed by join filter`);
  if (node['Sort Method']) figures.push(`${node['Sort Method']} ${formatKb(numberField(node, 'Sort Space Used') ?? 0)} ${node['Sort Space Type'] ?? ''}`.trim());
  const peak = numberField(node, 'Peak Memory Usage');
  const hashBatches = numberField(node, 'Hash Batches') ?? 0;
  const aggBatches = numberField(node, 'HashAgg Batches') ?? 0;
  const diskKb = numberField(node, 'Disk Usage') ?? 0;
  if (hashBatches > 1) figures.push(`${formatCount(hashBatches)} batches, peak ${formatKb(peak ?? 0)}`);
  else if (aggBatches > 1 || diskKb > 0) figures.push(`${formatCount(aggBatches)} batches, ${formatKb(diskKb)} on disk, peak ${formatKb(peak ?? 0)}`);
  else if (peak !== undefined) figures.push(`in memory, peak ${formatKb(peak)}`);
  if (numberField(node, 'Heap Fetches') !== undefined) figures.push(`${formatCount(numberField(node, 'Heap Fetches')!)} heap fetches`);
  if (numberField(node, 'Lossy Heap Blocks')) figures.push(`heap blocks exact ${formatCount(numberField(node, 'Exact Heap Blocks') ?? 0)} lossy ${formatCount(numberField(node, 'Lossy Heap Blocks')!)}`);
  if (view.hasBuffers) {
    figures.push(`buffers hit ${formatCount(numberField(node, 'Shared Hit Blocks') ?? 0)} read ${formatCount(numberField(node, 'Shared Read Blocks') ?? 0)}`);
  }
  return figures;
}
