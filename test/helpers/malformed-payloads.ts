export const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Malformed rag-query payloads and the field the error must name. Used by the contract tests and, through a real worker, by the bad-input test. */
export const MALFORMED_RAG_QUERIES: Array<[string, unknown, string]> = [
  ['not an object', 'hello', 'data'],
  ['null', null, 'data'],
  ['an array', [1, 2], 'data'],
  ['empty object', {}, 'query'],
  ['missing userId', { query: 'q' }, 'userId'],
  ['missing query', { userId: 'u' }, 'query'],
  ['empty query', { query: '', userId: 'u' }, 'query'],
  ['blank query', { query: '   \n', userId: 'u' }, 'query'],
  ['query too long', { query: 'x'.repeat(2001), userId: 'u' }, 'query'],
  ['query a number', { query: 42, userId: 'u' }, 'query'],
  ['empty userId', { query: 'q', userId: '' }, 'userId'],
  ['userId too long', { query: 'q', userId: 'u'.repeat(129) }, 'userId'],
  ['userId an object', { query: 'q', userId: { id: 1 } }, 'userId'],
  ['topK zero', { query: 'q', userId: 'u', topK: 0 }, 'topK'],
  ['topK too big', { query: 'q', userId: 'u', topK: 51 }, 'topK'],
  ['topK fractional', { query: 'q', userId: 'u', topK: 2.5 }, 'topK'],
  ['topK a string', { query: 'q', userId: 'u', topK: '5' }, 'topK'],
  ['profile unknown', { query: 'q', userId: 'u', profile: 'sometimes' }, 'profile'],
  ['plantBottleneck a string', { query: 'q', userId: 'u', plantBottleneck: 'yes' }, 'plantBottleneck'],
  ['trace without traceparent', { query: 'q', userId: 'u', trace: {} }, 'trace.traceparent'],
  ['traceparent malformed', { query: 'q', userId: 'u', trace: { traceparent: '00-abc-def-01' } }, 'trace.traceparent'],
  ['trace with unknown key', { query: 'q', userId: 'u', trace: { traceparent, baggage: 'x' } }, 'trace'],
  ['enqueuedAt not a date', { query: 'q', userId: 'u', enqueuedAt: 'yesterday' }, 'enqueuedAt'],
  ['unknown field (typo)', { query: 'q', userId: 'u', top_k: 3 }, 'top_k'],
];

