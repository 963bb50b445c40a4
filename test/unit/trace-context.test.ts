import { INVALID_SPAN_CONTEXT, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { isValidSpanContext } from '../../src/telemetry/trace-context';

const context = (traceId: string, spanId: string): SpanContext => ({ traceId, spanId, traceFlags: TraceFlags.NONE });

describe('isValidSpanContext', () => {
  it('accepts a context with well-formed, non-zero ids, and again when asked a second time (remembered)', () => {
    const valid = context('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7');
    expect(isValidSpanContext(valid)).toBe(true);
    expect(isValidSpanContext(valid)).toBe(true);
  });

  it.each([
    ['the all-zero ids', INVALID_SPAN_CONTEXT],
    ['a trace id of zeros', context('00000000000000000000000000000000', '00f067aa0ba902b7')],
    ['a span id of zeros', context('4bf92f3577b34da6a3ce929d0e0e4736', '0000000000000000')],
    ['a short trace id', context('4bf92f3577b34da6', '00f067aa0ba902b7')],
    ['non-hex digits', context('4bf92f3577b34da6a3ce929d0e0e473z', '00f067aa0ba902b7')],
  ])('refuses %s, every time it is asked', (_label, invalid) => {
    expect(isValidSpanContext(invalid)).toBe(false);
    expect(isValidSpanContext(invalid)).toBe(false);
  });

  it('remembers a context object, not its ids: another object with bad ids is checked afresh', () => {
    const good = context('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7');
    expect(isValidSpanContext(good)).toBe(true);
    expect(isValidSpanContext({ ...good, spanId: 'not-hex-at-all!!' })).toBe(false);
  });
});
