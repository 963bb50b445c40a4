import { SpanKind } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { generatedTraceIdHigh, traceIdHigh } from '../../src/telemetry/datadog-conventions';
import { spanType } from '../../src/telemetry/spans';
import { logTraceId } from '../../src/log';

describe('traceIdHigh', () => {
  it.each([
    ['4bf92f3577b34da6a3ce929d0e0e4736', '4bf92f3577b34da6'],
    ['0000000000000000a3ce929d0e0e4736', undefined],
    ['65f1a2b300000000a3ce929d0e0e4736', '65f1a2b300000000'],
    ['a3ce929d0e0e4736', undefined],
    ['4BF92F3577B34DA6A3CE929D0E0E4736', undefined],
    ['', undefined],
  ])('%s → %s', (traceId, high) => {
    expect(traceIdHigh(traceId)).toBe(high);
  });
});

describe('generatedTraceIdHigh', () => {
  it.each([
    [0, '0000000000000000'],
    [1_700_000_000_999, '6553f10000000000'],
    [4_294_967_295_000, 'ffffffff00000000'],
  ])('%i ms → %s (seconds, then 32 zero bits)', (nowMs, high) => {
    expect(generatedTraceIdHigh(nowMs)).toBe(high);
  });
});

describe('spanType', () => {
  it.each([
    [SpanKind.CONSUMER, undefined, 'worker'],
    [SpanKind.PRODUCER, undefined, 'queue'],
    [SpanKind.INTERNAL, undefined, 'custom'],
    [undefined, undefined, 'custom'],
    [undefined, 'sql', 'sql'],
    [SpanKind.CONSUMER, 'custom', 'custom'],
  ] as const)('kind %s, explicit %s → %s', (kind, explicit, type) => {
    expect(spanType(kind, explicit)).toBe(type);
  });
});

describe('logTraceId (dd.trace_id)', () => {
  it.each([
    ['4bf92f3577b34da6a3ce929d0e0e4736', '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['0000000000000000a3ce929d0e0e4736', '11803532876627986230'],
    ['0000000000000000ffffffffffffffff', '18446744073709551615'],
    ['00000000000000000000000000000001', '1'],
  ])('%s → %s', (traceId, logged) => {
    expect(logTraceId(traceId)).toBe(logged);
  });
});
