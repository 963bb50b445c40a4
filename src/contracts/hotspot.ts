import { z } from 'zod';

/** A line of code that was executing when the profiler sampled: where to look first. */
export const codeSiteSchema = z.object({ function: z.string(), file: z.string(), line: z.number() });
export type CodeSite = z.infer<typeof codeSiteSchema>;

/** A line ranked by its self time (callees excluded) in a CPU or wall profile. */
export const hotspotSchema = codeSiteSchema.extend({
  /** Share of the profile's busy (non-idle) time spent in this line itself. */
  selfPercent: z.number(),
  /** Time spent in this line itself, in milliseconds. */
  selfMs: z.number(),
});
export type Hotspot = z.infer<typeof hotspotSchema>;
