/**
 * How often a statement is EXPLAINed for profiles that were sampled. Pure: the caller passes the
 * clock. EXPLAIN ANALYZE executes a statement a second time (on PGlite, on a copy of the database
 * in its own thread: 1-2.5 s of CPU), so planning every sampled profile at a 1% capture rate made a
 * batch of 200 jobs with a profile in it cost 15-30 ms of CPU per job against 4. Datadog's Database Monitoring bounds its plans the
 * same way, per query signature and hour; here a statement's text is its signature, since ctx.sql
 * takes bind parameters ($1, $2, ...) and never splices values into the text.
 */
export interface PlannedStatement<P> {
  plan: P;
  plannedAtMs: number;
}

export class RecentPlans<P> {
  private readonly plans = new Map<string, PlannedStatement<P>>();

  /**
   * @param intervalMs a sampled profile reuses a plan younger than this (0 = never reuses)
   * @param maxStatements bound on the statements remembered; the oldest plan goes first
   */
  constructor(
    private readonly intervalMs: number,
    private readonly maxStatements = 500,
  ) {}

  /** The plan a sampled profile may report instead of planning `statement` again, if one is recent enough. */
  reusable(statement: string, nowMs: number): PlannedStatement<P> | undefined {
    const planned = this.plans.get(statement);
    if (!planned) return undefined;
    if (nowMs - planned.plannedAtMs < this.intervalMs) return planned;
    this.plans.delete(statement);
    return undefined;
  }

  remember(statement: string, plan: P, nowMs: number): void {
    if (this.intervalMs <= 0) return;
    // Re-inserted so the Map's order stays oldest plan first.
    this.plans.delete(statement);
    this.plans.set(statement, { plan, plannedAtMs: nowMs });
    if (this.plans.size > this.maxStatements) this.plans.delete(this.plans.keys().next().value!);
  }
}
