import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeTracePayload, normaliseTraceIdQuery, type ExportedSpan } from '../../src/telemetry/intake/exported-span';
import { SpanStore } from '../../src/telemetry/intake/span-store';
import { renderWaterfall } from '../../src/telemetry/intake/waterfall';

const START_NS = 1_796_000_000_000_000_000n;

function rawSpan(name: string, spanId: bigint, parentId: bigint, offsetMs: number, durationMs: number, extra: Record<string, unknown> = {}) {
  return {
    trace_id: 0xfedcba9876543210n,
    span_id: spanId,
    parent_id: parentId,
    name,
    resource: name,
    service: 'ragscope',
    error: 0,
    start: START_NS + BigInt(offsetMs * 1e6),
    duration: BigInt(durationMs * 1e6),
    meta: {},
    metrics: {},
    ...extra,
  };
}

/** A payload shaped like dd-trace's: 64-bit ids as uint64, the trace id's upper half in `_dd.p.tid`. */
function payload(): Uint8Array {
  return encode(
    [
      [
        rawSpan('rag.enqueue', 1n, 0n, 0, 5, { meta: { '_dd.p.tid': '0123456789abcdef', 'user.id': 'alice' } }),
        rawSpan('rag.job', 2n, 1n, 5, 90, { metrics: { 'query.length': 12 } }),
        rawSpan('rag.embed', 3n, 2n, 6, 1),
        rawSpan('rag.rerank', 5n, 2n, 20, 70, { error: 1, meta: { 'error.message': 'boom' } }),
        rawSpan('rag.retrieve', 4n, 2n, 8, 10, { type: 'sql', metrics: { 'retrieve.rows': 42 } }),
      ],
    ],
    { useBigInt64: true },
  );
}

describe('decodeTracePayload', () => {
  it('normalises ids to OTel hex, times to ms, and keeps tags', () => {
    const spans = decodeTracePayload(payload());
    expect(spans).toHaveLength(5);
    const [enqueue, job] = spans as [ExportedSpan, ExportedSpan];
    expect(enqueue.traceId).toBe('0123456789abcdeffedcba9876543210');
    expect(job.traceId).toBe(enqueue.traceId);
    expect(enqueue.parentId).toBeUndefined();
    expect(job.parentId).toBe('0000000000000001');
    expect(job.spanId).toBe('0000000000000002');
    expect(job.durationMs).toBeCloseTo(90, 6);
    expect(job.startMs - enqueue.startMs).toBeCloseTo(5, 3);
    expect(enqueue.meta['user.id']).toBe('alice');
    expect(job.metrics['query.length']).toBe(12);
    expect(spans.find((span) => span.name === 'rag.rerank')!.error).toBe(true);
    expect(spans.find((span) => span.name === 'rag.retrieve')!.type).toBe('sql');
    expect(job.type).toBe('');
  });

  it('rejects payloads that are not trace chunks', () => {
    expect(() => decodeTracePayload(encode({ not: 'traces' }))).toThrow(/array/);
    expect(() => decodeTracePayload(encode([{}]))).toThrow(/chunk/);
  });
});

describe('normaliseTraceIdQuery', () => {
  it.each([
    ['0123456789ABCDEFfedcba9876543210', '0123456789abcdeffedcba9876543210'],
    ['fedcba9876543210', 'fedcba9876543210'],
    ['18364758544493064720', 'fedcba9876543210'],
    ['not-an-id', undefined],
    ['abc', undefined],
  ])('%s → %s', (query, expected) => {
    expect(normaliseTraceIdQuery(query)).toBe(expected);
  });
});

describe('SpanStore', () => {
  it('finds a trace by its full id or its lower 64 bits, in start order', () => {
    const store = new SpanStore();
    store.add(decodeTracePayload(payload()));
    expect(store.trace('0123456789abcdeffedcba9876543210').map((span) => span.name)).toEqual([
      'rag.enqueue',
      'rag.job',
      'rag.embed',
      'rag.retrieve',
      'rag.rerank',
    ]);
    expect(store.trace('fedcba9876543210')).toHaveLength(5);
    expect(store.trace('0000000000000000')).toEqual([]);
    expect(store.summaries()[0]).toMatchObject({ rootName: 'rag.enqueue', spanCount: 5, error: true });
  });

  it('drops the oldest trace beyond its bound', () => {
    const store = new SpanStore(2);
    const span = (traceId: string): ExportedSpan => ({
      traceId, spanId: '1', name: 'x', resource: 'x', service: 's', type: 'custom', startMs: 0, durationMs: 1, error: false, meta: {}, metrics: {},
    });
    store.add([span('a'.repeat(32)), span('b'.repeat(32)), span('c'.repeat(32))]);
    expect(store.trace('a'.repeat(32))).toEqual([]);
    expect(store.trace('c'.repeat(32))).toHaveLength(1);
  });
});

describe('renderWaterfall', () => {
  it('draws the span tree indented by depth with bars on one timeline', () => {
    const lines = renderWaterfall(decodeTracePayload(payload()), { width: 20 }).split('\n');
    expect(lines[0]).toContain('trace 0123456789abcdeffedcba9876543210');
    expect(lines[0]).toContain('5 spans');
    expect(lines[0]).toContain('95.0 ms');
    const names = lines.slice(1).map((line) => line.split('|')[0]!.trimEnd());
    expect(names).toEqual(['rag.enqueue', '  rag.job', '    rag.embed', '    rag.retrieve', '    rag.rerank']);
    const rerank = lines.find((line) => line.includes('rag.rerank'))!;
    const bar = rerank.split('|')[1]!;
    // 70 of 95 ms, starting at 20 ms: the bar begins about a fifth of the way in and fills the rest.
    expect(bar.indexOf('█')).toBe(4);
    expect(bar.trim().length).toBe(15);
    expect(rerank).toContain('ERROR boom');
    expect(lines.find((line) => line.includes('rag.retrieve'))).toContain('retrieve.rows=42');
  });

  it('says so for an empty trace', () => {
    expect(renderWaterfall([])).toBe('no spans');
  });
});
