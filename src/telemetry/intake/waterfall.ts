import type { ExportedSpan } from './exported-span';

export interface WaterfallOptions {
  /** Characters of the timeline bar. */
  width?: number;
  /** Span tags to print after the duration (only those present). */
  tags?: string[];
}

const DEFAULT_TAGS = ['user.id', 'query.length', 'retrieve.rows', 'rerank.candidates', 'rerank.algorithm', 'job.id'];

interface Node {
  span: ExportedSpan;
  children: Node[];
}

/**
 * One trace as a text waterfall: the span tree (indented by depth) with a bar placed on the
 * trace's timeline, so a reader sees at a glance which stage took the time.
 */
export function renderWaterfall(spans: ExportedSpan[], options: WaterfallOptions = {}): string {
  if (spans.length === 0) return 'no spans';
  const width = options.width ?? 40;
  const tags = options.tags ?? DEFAULT_TAGS;
  const ordered = [...spans].sort((left, right) => left.startMs - right.startMs);
  const traceStart = ordered[0]!.startMs;
  const traceEnd = Math.max(...ordered.map((span) => span.startMs + span.durationMs));
  const total = Math.max(traceEnd - traceStart, 1e-6);

  const nodes = new Map(ordered.map((span) => [span.spanId, { span, children: [] as Node[] }]));
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentId ? nodes.get(node.span.parentId) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }

  const rows: Array<{ label: string; bar: string; duration: string; detail: string }> = [];
  const visit = (node: Node, depth: number): void => {
    const offset = Math.floor(((node.span.startMs - traceStart) / total) * width);
    const length = Math.max(1, Math.round((node.span.durationMs / total) * width));
    const bar = ' '.repeat(Math.min(offset, width - 1)) + '█'.repeat(Math.min(length, width - Math.min(offset, width - 1)));
    const detail = tags
      .filter((tag) => node.span.meta[tag] !== undefined || node.span.metrics[tag] !== undefined)
      .map((tag) => `${tag}=${node.span.meta[tag] ?? node.span.metrics[tag]}`);
    if (node.span.error) detail.unshift(`ERROR ${node.span.meta['error.message'] ?? ''}`.trim());
    rows.push({
      label: `${'  '.repeat(depth)}${node.span.name}`,
      bar: bar.padEnd(width),
      duration: `${node.span.durationMs.toFixed(1)} ms`,
      detail: detail.join(' '),
    });
    node.children.forEach((child) => visit(child, depth + 1));
  };
  roots.forEach((root) => visit(root, 0));

  const labelWidth = Math.max(...rows.map((row) => row.label.length));
  const durationWidth = Math.max(...rows.map((row) => row.duration.length));
  const services = [...new Set(ordered.map((span) => span.service))].join(', ');
  const header = `trace ${ordered[0]!.traceId}  ${spans.length} spans  ${total.toFixed(1)} ms  service ${services}`;
  return [
    header,
    ...rows.map((row) =>
      `${row.label.padEnd(labelWidth)}  |${row.bar}|  ${row.duration.padStart(durationWidth)}  ${row.detail}`.trimEnd(),
    ),
  ].join('\n');
}
