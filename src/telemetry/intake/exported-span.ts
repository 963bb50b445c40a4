import { decode } from '@msgpack/msgpack';

/** A span as dd-trace exported it, with ids normalised to the OTel hex form. */
export interface ExportedSpan {
  /** 32 hex characters: `_dd.p.tid` (upper 64 bits) + `trace_id` (lower 64 bits). */
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentId?: string;
  name: string;
  resource: string;
  service: string;
  /** Datadog span type (`sql`, `worker`, `queue`, `custom`, ...); empty when the tracer sent none. */
  type: string;
  /** Epoch milliseconds. */
  startMs: number;
  durationMs: number;
  error: boolean;
  meta: Record<string, string>;
  metrics: Record<string, number>;
}

type RawSpan = Record<string, unknown>;

function hex64(value: unknown): string {
  const big = typeof value === 'bigint' ? value : BigInt(Number(value ?? 0));
  return BigInt.asUintN(64, big).toString(16).padStart(16, '0');
}

function toNumber(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : Number(value ?? 0);
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, String(item)]));
}

function numberRecord(value: unknown): Record<string, number> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, toNumber(item)]));
}

/**
 * Decodes a `/v0.4/traces` payload: a msgpack array of trace chunks, each an array of spans.
 * 64-bit ids need BigInt; the upper half of a 128-bit trace id travels once per chunk in `_dd.p.tid`.
 */
export function decodeTracePayload(payload: Uint8Array): ExportedSpan[] {
  const chunks = decode(payload, { useBigInt64: true });
  if (!Array.isArray(chunks)) throw new Error('trace payload is not an array of trace chunks');
  const spans: ExportedSpan[] = [];
  for (const chunk of chunks) {
    if (!Array.isArray(chunk)) throw new Error('trace chunk is not an array of spans');
    const rawSpans = chunk as RawSpan[];
    const upperBits = rawSpans.map((span) => stringRecord(span.meta)['_dd.p.tid']).find(Boolean) ?? '0'.repeat(16);
    for (const raw of rawSpans) {
      const meta = stringRecord(raw.meta);
      const parent = hex64(raw.parent_id);
      spans.push({
        traceId: `${upperBits.padStart(16, '0')}${hex64(raw.trace_id)}`,
        spanId: hex64(raw.span_id),
        parentId: /^0+$/.test(parent) ? undefined : parent,
        name: String(raw.name ?? ''),
        resource: String(raw.resource ?? ''),
        service: String(raw.service ?? ''),
        type: String(raw.type ?? ''),
        startMs: toNumber(raw.start) / 1e6,
        durationMs: toNumber(raw.duration) / 1e6,
        error: toNumber(raw.error) !== 0,
        meta,
        metrics: numberRecord(raw.metrics),
      });
    }
  }
  return spans;
}

/** A user may paste the full 32-hex id, its lower 16 hex digits (Datadog's UI shows either), or decimal. */
export function normaliseTraceIdQuery(query: string): string | undefined {
  const text = query.trim().toLowerCase();
  if (/^[0-9a-f]{32}$/.test(text) || /^[0-9a-f]{16}$/.test(text)) return text;
  if (/^\d{1,20}$/.test(text)) return BigInt.asUintN(64, BigInt(text)).toString(16).padStart(16, '0');
  return undefined;
}

export function traceIdMatches(traceId: string, query: string): boolean {
  return query.length === 32 ? traceId === query : traceId.endsWith(query);
}
