import { z } from 'zod';
import { ValidationError } from './errors';
import { traceCarrierSchema } from './trace-carrier';

/**
 * The job contracts: data, progress and result of every queue, defined once. The producer parses
 * before enqueueing and the worker parses again, because anything can write to Redis.
 * Unknown fields are rejected so a typo (`top_k`) is an error, not a silently ignored option.
 */

/** zod's type-error message, but "is required" when the field is missing altogether. */
const typeError = (expected: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : expected),
});

const nonBlank = (max: number) =>
  z
    .string(typeError(`must be a string of 1-${max} characters`))
    .max(max, { message: `must be at most ${max} characters` })
    .refine((value) => value.trim().length > 0, { message: 'must not be blank' });

const wholeNumber = (min: number, max: number) =>
  z
    .number(typeError(`must be a whole number from ${min} to ${max}`))
    .int({ message: `must be a whole number from ${min} to ${max}` })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

export const PROFILE_MODES = ['auto', 'always', 'never'] as const;
export type ProfileMode = (typeof PROFILE_MODES)[number];

export const ragQueryDataSchema = z
  .object({
    query: nonBlank(2000),
    userId: nonBlank(128),
    topK: wholeNumber(1, 50).default(5),
    profile: z.enum(PROFILE_MODES, { message: `must be one of ${PROFILE_MODES.join(', ')}` }).default('auto'),
    plantBottleneck: z.boolean(typeError('must be true or false')).optional(),
    trace: traceCarrierSchema.optional(),
    enqueuedAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  })
  .strict();

/** What a producer may send (defaults not yet applied). */
export type RagQueryInput = z.input<typeof ragQueryDataSchema>;
/** What a worker receives after validation. */
export type RagQueryData = z.output<typeof ragQueryDataSchema>;

export const stageTimingSchema = z.object({ name: z.string(), durationMs: z.number() });
export type StageTiming = z.infer<typeof stageTimingSchema>;

export const sourceSchema = z.object({ id: z.string(), score: z.number(), title: z.string() });
export type Source = z.infer<typeof sourceSchema>;

export const hotspotSchema = z.object({
  function: z.string(),
  file: z.string(),
  line: z.number(),
  /** Share of the job's busy (non-idle) wall time spent in this line itself. */
  selfPercent: z.number(),
  selfMs: z.number(),
});
export type HotspotResult = z.infer<typeof hotspotSchema>;

export const planFindingSchema = z.object({
  rule: z.string(),
  severity: z.string(),
  nodePath: z.string(),
  nodeType: z.string(),
  relation: z.string().optional(),
  numbers: z.record(z.string(), z.number()),
  message: z.string(),
  suggestion: z.string(),
});

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
});
export type RagQueryResult = z.infer<typeof ragQueryResultSchema>;

export const leakCheckDataSchema = z
  .object({
    iterations: wholeNumber(1, 1000),
    query: nonBlank(2000).optional(),
    retainLeak: z.boolean(typeError('must be true or false')).default(false),
    trace: traceCarrierSchema.optional(),
    enqueuedAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  })
  .strict();
export type LeakCheckInput = z.input<typeof leakCheckDataSchema>;
export type LeakCheckData = z.output<typeof leakCheckDataSchema>;

export const leakCheckProgressSchema = z.object({ iteration: z.number(), heapUsedMb: z.number() });
export type LeakCheckProgress = z.infer<typeof leakCheckProgressSchema>;

export const growingSiteSchema = z.object({ function: z.string(), file: z.string(), line: z.number(), bytes: z.number() });

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

/** Renders zod issues as `field: message; field: message`, the form users see. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length > 0 ? issue.path.join('.') : 'data';
      if (issue.code === 'unrecognized_keys') return `${field}: unknown field(s) ${issue.keys.join(', ')}`;
      if (issue.code === 'invalid_type' && issue.path.length === 0) return 'data: must be a JSON object';
      // zod's own wording for a missing nested field ("expected string, received undefined").
      if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return `${field}: is required`;
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses `data` against `schema`, throwing a ValidationError that names every bad field. */
export function parseContract<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw new ValidationError(`invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}
