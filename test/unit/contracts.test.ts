import { describe, expect, it } from 'vitest';
import { leakCheckDataSchema } from '../../src/contracts/leak-check';
import { ragQueryDataSchema } from '../../src/contracts/rag-query';
import { parseContract } from '../../src/contracts/validation';
import { ValidationError } from '../../src/contracts/errors';
import { MALFORMED_RAG_QUERIES, traceparent } from '../helpers/malformed-payloads';

describe('rag-query contract', () => {
  it('applies the documented defaults', () => {
    expect(ragQueryDataSchema.parse({ query: 'What is GDPR?', userId: 'alice' })).toEqual({
      query: 'What is GDPR?',
      userId: 'alice',
      topK: 5,
      profile: 'auto',
    });
  });

  it('accepts every optional field at its limits', () => {
    const data = {
      query: 'x'.repeat(2000),
      userId: 'u'.repeat(128),
      topK: 50,
      profile: 'always',
      plantBottleneck: true,
      trace: { traceparent, tracestate: 'dd=s:1' },
      enqueuedAt: '2026-12-01T08:00:00.000Z',
    };
    expect(ragQueryDataSchema.parse(data)).toEqual(data);
  });

  it.each(MALFORMED_RAG_QUERIES)('rejects %s, naming %s', (_label, payload, field) => {
    const result = ragQueryDataSchema.safeParse(payload);
    expect(result.success).toBe(false);
    expect(() => parseContract(ragQueryDataSchema, payload, 'rag-query job')).toThrow(ValidationError);
    expect(() => parseContract(ragQueryDataSchema, payload, 'rag-query job')).toThrow(new RegExp(`${field.replace('.', '\\.')}`));
  });

  it('says "is required" for a missing field, not a type error', () => {
    expect(() => parseContract(ragQueryDataSchema, { query: 'q' }, 'rag-query job')).toThrow('userId: is required');
  });
});

describe('leak-check contract', () => {
  it('defaults retainLeak to false', () => {
    expect(leakCheckDataSchema.parse({ iterations: 10 })).toEqual({ iterations: 10, retainLeak: false });
  });

  it.each([
    [{}, 'iterations: is required'],
    [{ iterations: 0 }, 'iterations: must be at least 1'],
    [{ iterations: 1001 }, 'iterations: must be at most 1000'],
    [{ iterations: 10, retainLeak: 'true' }, 'retainLeak: must be true or false'],
    [{ iterations: 10, query: '' }, 'query: must not be blank'],
  ])('rejects %j', (payload, message) => {
    expect(() => parseContract(leakCheckDataSchema, payload, 'leak-check job')).toThrow(message);
  });
});
