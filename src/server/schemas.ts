import { z } from 'zod';
import { leakCheckFields } from '../contracts/leak-check';
import { ragQueryFields } from '../contracts/rag-query';

/**
 * The HTTP API's request schemas, derived from the job contracts: the same field definitions (and
 * so the same limits), renamed to the API's snake_case. Fastify validates with ajv at the edge and
 * the producer parses the contract again, so a limit is written once and enforced on both sides.
 */

export const queryRequestSchema = z
  .object({
    query: ragQueryFields.query,
    user_id: ragQueryFields.userId,
    top_k: ragQueryFields.topK,
    profile: ragQueryFields.profile,
    plant_bottleneck: ragQueryFields.plantBottleneck,
  })
  .strict();
export type QueryRequest = z.output<typeof queryRequestSchema>;

export const leakCheckRequestSchema = z
  .object({
    iterations: leakCheckFields.iterations,
    retain_leak: leakCheckFields.retainLeak,
    query: leakCheckFields.query,
  })
  .strict();
export type LeakCheckRequest = z.output<typeof leakCheckRequestSchema>;

/**
 * A zod schema as the JSON Schema Fastify's ajv (draft-07) validates with and @fastify/swagger
 * documents. `io: 'input'` describes what a client sends: defaulted fields are optional there.
 * zod refinements (e.g. "not blank") have no JSON Schema form; the contract parse still applies them.
 */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return body;
}
