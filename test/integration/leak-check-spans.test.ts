import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { STAGES } from '../../src/pipeline/sample-pipeline';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import { inSpan, withoutSpans } from '../../src/telemetry/spans';
import { flushTraces, initTracing } from '../../src/telemetry/tracing';
import { activeTraceId } from '../../src/telemetry/trace-context';
import { waitFor } from '../helpers/processes';

/**
 * The acceptance figure for a long leak check, at its full size: 1,000 iterations inside
 * withoutSpans (what runLeakCheck wraps its loop in), each making the four stage spans the pipeline
 * makes (inSpan, as the pipeline calls it), under dd-trace in this process, counted on what dd-trace
 * exported. The real pipeline and the forced GC per iteration are left out only because 1,000 of
 * them take minutes; test/integration/datadog-wire.test.ts runs the real leak check (50 iterations)
 * through a worker and finds the same two spans.
 */
describe('a 1,000-iteration leak check under dd-trace', () => {
  let intake: LocalIntake;

  beforeAll(async () => {
    intake = await startLocalIntake({ port: 0 });
    initTracing(loadConfig({ DD_TRACE_AGENT_URL: intake.url, DD_SERVICE: 'ragscope-leak-spans', DD_TRACE_SAMPLE_RATE: '1' }), {
      flushIntervalMs: 200,
    });
  });

  afterAll(async () => {
    await intake?.close();
  });

  it('exports fewer than 10 spans: the job span, no per-iteration stage span', async () => {
    let stageCalls = 0;
    const traceId = await inSpan('rag.leak_check', { kind: SpanKind.CONSUMER }, async () => {
      await withoutSpans(async () => {
        for (let iteration = 1; iteration <= 1000; iteration++) {
          for (const stage of STAGES) {
            await inSpan(`rag.${stage}`, {}, () => {
              stageCalls++;
            });
          }
        }
      });
      return activeTraceId();
    });
    expect(stageCalls).toBe(4000);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await flushTraces();
    const spans = await waitFor(() => {
      const trace = intake.store.trace(traceId!);
      return trace.length > 0 ? trace : undefined;
    }, 20_000, 'the leak-check trace');
    expect(spans.map((span) => span.name)).toEqual(['rag.leak_check']);
    expect(spans.length).toBeLessThan(10);
    // Nor did any stage span escape into a trace of its own.
    expect(intake.store.allSpans().filter((span) => span.name !== 'rag.leak_check')).toEqual([]);
  });
});
