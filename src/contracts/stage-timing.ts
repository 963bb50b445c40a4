import { z } from 'zod';

/** How long one pipeline stage (embed, retrieve, rerank, generate) took in a job. */
export const stageTimingSchema = z.object({ name: z.string(), durationMs: z.number() });
export type StageTiming = z.infer<typeof stageTimingSchema>;
