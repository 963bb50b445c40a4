import type { Profile } from 'pprof-format';

interface FrameNode {
  name: string;
  location: string;
  value: number;
  children: Map<string, FrameNode>;
}

export interface FlameGraphOptions {
  title?: string;
  width?: number;
  sampleType?: string;
}

const ROW_HEIGHT = 17;
const HEADER_HEIGHT = 34;
const CHAR_WIDTH = 7;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Warm colours, stable per function, so one function keeps its colour across the graph. */
function colourFor(name: string): string {
  let hash = 0;
  for (let index = 0; index < name.length; index++) hash = (hash * 31 + name.charCodeAt(index)) >>> 0;
  return `rgb(${205 + (hash % 50)},${80 + ((hash >> 8) % 130)},${40 + ((hash >> 16) % 50)})`;
}

/**
 * A self-contained SVG flame graph (root at the top, callees below, width = time), readable in any
 * browser with no script or dependency. Each frame has a tooltip with its value and share.
 */
export function renderFlameGraph(profile: Profile, options: FlameGraphOptions = {}): string {
  const strings = profile.stringTable.strings;
  const text = (index: number | bigint | undefined): string => strings[Number(index ?? 0)] ?? '';
  const types = profile.sampleType.map((valueType) => text(valueType.type));
  let valueIndex = types.indexOf(options.sampleType ?? (types.includes('wall') ? 'wall' : types.includes('cpu') ? 'cpu' : types.at(-1) ?? ''));
  if (valueIndex < 0) valueIndex = types.length - 1;
  const unit = text(profile.sampleType[valueIndex]?.unit);

  const locations = new Map(profile.location.map((location) => [String(location.id), location]));
  const functions = new Map(profile.function.map((fn) => [String(fn.id), fn]));
  const root: FrameNode = { name: 'all', location: '', value: 0, children: new Map() };
  for (const sample of profile.sample) {
    const value = Number(sample.value[valueIndex] ?? 0);
    if (value <= 0) continue;
    root.value += value;
    let node = root;
    // Stacks are stored leaf-first; a flame graph grows from the root.
    for (const locationId of [...sample.locationId].reverse()) {
      const location = locations.get(String(locationId));
      // Inlined frames share a location: outermost first, innermost last.
      for (const line of [...(location?.line ?? [])].reverse()) {
        const fn = functions.get(String(line.functionId));
        const name = fn ? text(fn.name) || '(anonymous)' : '(unknown)';
        const where = fn ? `${text(fn.filename)}:${Number(line.line)}` : '';
        const key = `${name}\u0000${where}`;
        let child = node.children.get(key);
        if (!child) {
          child = { name, location: where, value: 0, children: new Map() };
          node.children.set(key, child);
        }
        child.value += value;
        node = child;
      }
    }
  }

  const width = options.width ?? 1200;
  const rects: string[] = [];
  let maxDepth = 0;
  const total = root.value || 1;
  const formatValue = (value: number): string =>
    unit === 'nanoseconds' ? `${(value / 1e6).toFixed(1)} ms` : unit === 'bytes' ? `${(value / 1024).toFixed(1)} KiB` : `${value} ${unit}`;
  const draw = (node: FrameNode, depth: number, x: number): void => {
    const frameWidth = (node.value / total) * width;
    if (frameWidth < 0.5) return;
    maxDepth = Math.max(maxDepth, depth);
    const y = HEADER_HEIGHT + depth * ROW_HEIGHT;
    const share = ((node.value / total) * 100).toFixed(1);
    const label = node.name.length * CHAR_WIDTH < frameWidth - 6 ? node.name : node.name.slice(0, Math.floor((frameWidth - 6) / CHAR_WIDTH));
    rects.push(
      `<g><title>${escapeXml(`${node.name} ${node.location} — ${formatValue(node.value)} (${share}%)`)}</title>` +
        `<rect x="${x.toFixed(2)}" y="${y}" width="${frameWidth.toFixed(2)}" height="${ROW_HEIGHT - 1}" fill="${depth === 0 ? '#c8c8c8' : colourFor(node.name)}" rx="2"/>` +
        (label.length > 1 ? `<text x="${(x + 3).toFixed(2)}" y="${y + 12}">${escapeXml(label)}</text>` : '') +
        `</g>`,
    );
    let childX = x;
    for (const child of [...node.children.values()].sort((left, right) => right.value - left.value)) {
      draw(child, depth + 1, childX);
      childX += (child.value / total) * width;
    }
  };
  draw(root, 0, 0);
  const height = HEADER_HEIGHT + (maxDepth + 1) * ROW_HEIGHT + 8;
  const title = options.title ?? `ragscope flame graph — ${types[valueIndex] ?? 'samples'}, ${formatValue(root.value)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdfd"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    ...rects,
    `</svg>`,
    '',
  ].join('\n');
}
