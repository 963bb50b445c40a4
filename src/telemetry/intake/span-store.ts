import { traceIdMatches, type ExportedSpan } from './exported-span';

export interface TraceSummary {
  traceId: string;
  rootName: string;
  spanCount: number;
  startMs: number;
  durationMs: number;
  error: boolean;
}

/**
 * Spans kept by the local intake, grouped by trace. Bounded: past `maxTraces` the oldest trace is
 * dropped, so an intake left running for days holds a fixed amount of memory.
 */
export class SpanStore {
  private readonly traces = new Map<string, ExportedSpan[]>();

  constructor(private readonly maxTraces = 2000) {}

  add(spans: ExportedSpan[]): void {
    for (const span of spans) {
      const existing = this.traces.get(span.traceId);
      if (existing) existing.push(span);
      else this.traces.set(span.traceId, [span]);
    }
    while (this.traces.size > this.maxTraces) {
      const oldest = this.traces.keys().next().value as string;
      this.traces.delete(oldest);
    }
  }

  /** Spans of the trace whose id matches (full id or its lower 64 bits), start-time order. */
  trace(traceIdQuery: string): ExportedSpan[] {
    for (const [traceId, spans] of this.traces) {
      if (traceIdMatches(traceId, traceIdQuery)) return [...spans].sort((left, right) => left.startMs - right.startMs);
    }
    return [];
  }

  allSpans(): ExportedSpan[] {
    return [...this.traces.values()].flat();
  }

  /** Most recent first. */
  summaries(limit = 20): TraceSummary[] {
    const summaries = [...this.traces.entries()].map(([traceId, spans]) => {
      const root = spans.find((span) => !spans.some((other) => other.spanId === span.parentId)) ?? spans[0]!;
      const startMs = Math.min(...spans.map((span) => span.startMs));
      const endMs = Math.max(...spans.map((span) => span.startMs + span.durationMs));
      return {
        traceId,
        rootName: root.name,
        spanCount: spans.length,
        startMs,
        durationMs: endMs - startMs,
        error: spans.some((span) => span.error),
      };
    });
    return summaries.sort((left, right) => right.startMs - left.startMs).slice(0, limit);
  }

  clear(): void {
    this.traces.clear();
  }
}
