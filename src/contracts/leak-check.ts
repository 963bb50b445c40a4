import { z } from 'zod';
import { codeSiteSchema } from './hotspot';
import { envelopeFields } from './envelope';
import { flag, nonBlank, wholeNumber } from './validation';
import { RAG_QUERY_LIMITS } from './rag-query';

/** The leak-check job: run the pipeline N times in a worker and judge the post-GC heap trend. */

export const LEAK_CHECK_LIMITS = {
  iterations: { min: 1, max: 1000 },
} as const;

export const leakCheckFields = {
  iterations: wholeNumber(LEAK_CHECK_LIMITS.iterations),
  query: nonBlank(RAG_QUERY_LIMITS.queryLength).optional(),
  retainLeak: flag().default(false),
};

export const leakCheckDataSchema = z
  .object({ ...leakCheckFields, ...envelopeFields })
  .strict();
export type LeakCheckInput = z.input<typeof leakCheckDataSchema>;
export type LeakCheckData = z.output<typeof leakCheckDataSchema>;

export const leakCheckProgressSchema = z.object({ iteration: z.number(), heapUsedMb: z.number() });
export type LeakCheckProgress = z.infer<typeof leakCheckProgressSchema>;

/** An allocation site whose live memory grew between the heap profiles at the start and the end. */
export const growingSiteSchema = codeSiteSchema.extend({
  /** Growth of sampled live bytes allocated here. */
  bytes: z.number(),
});
export type GrowingSite = z.infer<typeof growingSiteSchema>;

export const leakCheckResultSchema = z.object({
  samples: z.array(leakCheckProgressSchema),
  growthMb: z.number(),
  growthKbPerIteration: z.number(),
  pValue: z.number(),
  leakDetected: z.boolean(),
  /** Why, in words, with the numbers. */
  verdict: z.string(),
  /** Allocation sites whose live memory grew most (sampling heap profiles at start and end). */
  topGrowingSites: z.array(growingSiteSchema),
  /** Why topGrowingSites is empty, when it is. */
  attributionUnavailable: z.string().optional(),
  traceId: z.string().optional(),
});
export type LeakCheckResult = z.infer<typeof leakCheckResultSchema>;
