import fc from 'fast-check';
import { arbitraryJobData } from '../helpers/arbitraries';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/contracts/errors';
import { leakCheckDataSchema } from '../../src/contracts/leak-check';
import { ragQueryDataSchema } from '../../src/contracts/rag-query';
import { describeIssues, parseContract } from '../../src/contracts/validation';

describe('job contracts under fuzzing', () => {
  it('never throw anything but a readable ValidationError, for 2,000 generated payloads per contract', () => {
    fc.assert(
      fc.property(arbitraryJobData, (data) => {
        for (const [schema, what] of [
          [ragQueryDataSchema, 'rag-query job'],
          [leakCheckDataSchema, 'leak-check job'],
        ] as const) {
          const result = schema.safeParse(data);
          if (result.success) continue;
          const message = describeIssues(result.error);
          expect(message.length).toBeGreaterThan(0);
          expect(message).not.toMatch(/undefined|\[object Object\]/);
          expect(() => parseContract(schema, data, what)).toThrow(ValidationError);
        }
      }),
      { numRuns: 2000, seed: 20261201 },
    );
  });
});
