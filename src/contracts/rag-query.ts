import { z } from 'zod';
import { hotspotSchema } from './hotspot';
import { planFindingSchema } from './plan-finding';
import { stageTimingSchema } from './stage-timing';
import { envelopeFields } from './envelope';
import { flag, nonBlank, wholeNumber } from './validation';

/**
 * The rag-query job: data, result. The producer parses before enqueueing and the worker parses
 * again, because anything can write to Redis. Unknown fields are rejected so a typo (`top_k`) is an
 * error, not a silently ignored option.
 */

/** Every bound of a rag-query job; HTTP schemas and CLI options read them from here. */
export const RAG_QUERY_LIMITS = {
  queryLength: 2000,
  userIdLength: 128,
  topK: { min: 1, max: 50, default: 5 },
} as const;

export const PROFILE_MODES = ['auto', 'always', 'never'] as const;
export type ProfileMode = (typeof PROFILE_MODES)[number];

/** The fields a caller chooses, by name; HTTP bodies rename them (`user_id`) but share each definition. */
export const ragQueryFields = {
  query: nonBlank(RAG_QUERY_LIMITS.queryLength),
  userId: nonBlank(RAG_QUERY_LIMITS.userIdLength),
  topK: wholeNumber(RAG_QUERY_LIMITS.topK).default(RAG_QUERY_LIMITS.topK.default),
  profile: z.enum(PROFILE_MODES, { message: `must be one of ${PROFILE_MODES.join(', ')}` }).default('auto'),
  plantBottleneck: flag().optional(),
};

export const ragQueryDataSchema = z
  .object({ ...ragQueryFields, ...envelopeFields })
  .strict();

/** What a producer may send (defaults not yet applied). */
export type RagQueryInput = z.input<typeof ragQueryDataSchema>;
/** What a worker receives after validation. */
export type RagQueryData = z.output<typeof ragQueryDataSchema>;

/** A source of an answer; a custom pipeline may leave out its title and score. */
export const sourceSchema = z.object({ id: z.string(), score: z.number().optional(), title: z.string().optional() });
export type Source = z.infer<typeof sourceSchema>;

export const ragQueryResultSchema = z.object({
  answer: z.string(),
  sources: z.array(sourceSchema),
  stages: z.array(stageTimingSchema),
  /** Trace id of the worker's `rag.job` span (same as the producer's when the trace was carried). */
  traceId: z.string().optional(),
  /** Whether this run was CPU-profiled, and why (or why not). */
  profiling: z.object({ profiled: z.boolean(), reason: z.string(), overheadMs: z.number().optional() }).optional(),
  /** Top functions by self time, when profiled. */
  hotspots: z.array(hotspotSchema).optional(),
  /** The saved `.pprof` (gzipped protobuf: `ragscope hotspots`, `go tool pprof`, speedscope). */
  profilePath: z.string().optional(),
  /** What the plan rules found in the retrieve stage's SQL, when a plan was captured (profiled jobs). */
  findings: z.array(planFindingSchema).optional(),
  /**
   * The plans behind `findings`, one per statement: taken for this job, or (`reused`) a plan of the
   * same statement that a sampled profile took at `plannedAt`, within RAGSCOPE_PLAN_INTERVAL_SECONDS.
   */
  plans: z.array(z.object({ statement: z.string(), plannedAt: z.string(), reused: z.boolean() })).optional(),
});
export type RagQueryResult = z.infer<typeof ragQueryResultSchema>;
