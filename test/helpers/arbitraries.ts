import fc from 'fast-check';

/** Values shaped like job data, broken in every way JSON allows: wrong types, sizes, extra keys. */
export const arbitraryJobData = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      query: fc.oneof(fc.string({ maxLength: 2100 }), fc.jsonValue()),
      userId: fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue()),
      topK: fc.oneof(fc.integer({ min: -5, max: 60 }), fc.double(), fc.string()),
      profile: fc.oneof(fc.constantFrom('auto', 'always', 'never', 'sometimes', ''), fc.jsonValue()),
      plantBottleneck: fc.oneof(fc.boolean(), fc.jsonValue()),
      trace: fc.oneof(fc.record({ traceparent: fc.string() }), fc.jsonValue()),
      iterations: fc.oneof(fc.integer({ min: -10, max: 1200 }), fc.jsonValue()),
      retainLeak: fc.oneof(fc.boolean(), fc.jsonValue()),
      unexpected: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
);

