import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import type { ExportedSpan } from '../../src/telemetry/intake/exported-span';
import type { LeakCheckResult } from '../../src/contracts/leak-check';
import type { RagQueryResult } from '../../src/contracts/rag-query';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { REPO_ROOT, runCli, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { openTestQueue, type TestQueue } from '../helpers/redis';

/** Datadog's sampling priorities: user reject, auto reject, auto keep, user keep. */
const DATADOG_PRIORITIES = [-1, 0, 1, 2];
const SAMPLING_PRIORITY = '_sampling_priority_v1';
const STAGES = ['rag.embed', 'rag.retrieve', 'rag.rerank', 'rag.generate'];

/**
 * What a Datadog agent receives, checked on the bytes: every assertion here reads spans that
 * dd-trace encoded as msgpack and PUT to the local intake, decoded field by field, never
 * ragscope's own idea of its spans. Producer (CLI or a plain BullMQ script) and worker are
 * separate processes.
 */
describe('the Datadog wire', () => {
  const prefix = uniquePrefix('dd-wire');
  let intake: LocalIntake;
  let worker: WorkerProcess;
  let testQueue: TestQueue;
  let env: Record<string, string>;

  beforeAll(async () => {
    intake = await startLocalIntake({ port: 0 });
    // Capture 0: the tests count a trace's spans exactly, and a job picked by the 1% capture adds a
    // sql.explain span (one CI run in ~30 met it). The profiled test asks with profile: 'always'.
    env = {
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      DD_TRACE_AGENT_URL: intake.url,
      DD_SERVICE: 'ragscope-wire',
      DD_TRACE_SAMPLE_RATE: '1',
      DD_PROFILING_CAPTURE_PCT: '0',
    };
    worker = await startWorkerProcess(env);
    testQueue = await openTestQueue(prefix);
  });

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
    await intake?.close();
  });

  /** The exported spans of a trace once `expected` span names are all in (dd-trace flushes every 2 s). */
  const exported = (traceId: string, expected: string[]): Promise<ExportedSpan[]> =>
    waitFor(
      () => {
        const spans = intake.store.trace(traceId);
        return expected.every((name) => spans.some((span) => span.name === name)) ? spans : undefined;
      },
      20_000,
      `spans ${expected.join(', ')} of trace ${traceId}`,
    );

  const only = (spans: ExportedSpan[], name: string): ExportedSpan => {
    const matches = spans.filter((span) => span.name === name);
    expect(matches, name).toHaveLength(1);
    return matches[0]!;
  };

  /** A job a foreign producer (a plain BullMQ script) enqueues with a W3C carrier. */
  const foreignJob = async (traceparent: string, data: Record<string, unknown> = {}): Promise<RagQueryResult> => {
    const job = await testQueue.queue.add('query', { query: 'How long do we keep audit logs?', userId: 'script', trace: { traceparent }, ...data });
    return (await job.waitUntilFinished(testQueue.events, 30_000)) as RagQueryResult;
  };

  it('a foreign 128-bit trace id: lower 64 bits in trace_id, upper 64 in _dd.p.tid on every span, same 32-hex id in the result', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    const result = await foreignJob(`00-${traceId}-${parentSpanId}-01`);
    expect(result.traceId).toBe(traceId);

    const spans = await exported(traceId, ['rag.job', ...STAGES, 'rag.sql']);
    expect(spans.map((span) => span.name).sort()).toEqual(['rag.job', ...STAGES, 'rag.sql'].sort());
    for (const span of spans) {
      expect(span.meta['_dd.p.tid'], span.name).toBe(traceId.slice(0, 16));
      expect(span.traceId.slice(16), span.name).toBe(traceId.slice(16));
      expect(DATADOG_PRIORITIES, span.name).toContain(span.metrics[SAMPLING_PRIORITY] ?? 1);
    }
    const job = only(spans, 'rag.job');
    expect(job.parentId).toBe(parentSpanId);
    expect(job.metrics[SAMPLING_PRIORITY]).toBe(1);
    for (const stage of STAGES) expect(only(spans, stage).parentId, stage).toBe(job.spanId);
  });

  it("the README's Python example: a job carrying exactly what that code sends is accepted and joins the script's trace", async () => {
    // What the OpenTelemetry Python SDK's inject() writes inside a started, sampled span: the
    // traceparent alone (tracestate only when non-empty), here with the random-id flag of W3C
    // level 2 that recent SDKs set.
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const scriptSpanId = 'b7ad6b7169203331';
    const data = {
      query: 'What is our GDPR retention period?',
      userId: 'script',
      trace: { traceparent: `00-${traceId}-${scriptSpanId}-03` },
      // datetime.now(timezone.utc).isoformat(): microseconds and a +00:00 offset.
      enqueuedAt: new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1456+00:00'),
    };
    // The README's code sends these fields, from inside a started span, with the SDK's provider.
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const python = /```python\n([\s\S]*?)```/.exec(readme)![1]!;
    expect([...python.matchAll(/^\s+"(\w+)": /gm)].map((match) => match[1])).toEqual(Object.keys(data));
    expect(python).toContain('trace.set_tracer_provider(TracerProvider())');
    expect(python).toMatch(/with tracer\.start_as_current_span\([^)]*\):\n(\s+)carrier[^\n]*\n\1inject\(carrier\)/);
    expect(python).toContain('asyncio.run(main())');
    expect(python).not.toMatch(/^await /m);
    const job = await testQueue.queue.add('query', data);
    const result = (await job.waitUntilFinished(testQueue.events, 30_000)) as RagQueryResult;
    expect(result.traceId).toBe(traceId);
    expect(result.sources.length).toBeGreaterThan(0);
    const spans = await exported(traceId, ['rag.job', ...STAGES]);
    const ragJob = only(spans, 'rag.job');
    expect(ragJob.parentId).toBe(scriptSpanId);
    expect(ragJob.meta['_dd.p.tid']).toBe(traceId.slice(0, 16));
    expect(ragJob.metrics[SAMPLING_PRIORITY]).toBe(1);
  });

  it('a job that fails validation: an error span in the producer\'s trace when its carrier is valid, its own trace when not; the log line carries dd.trace_id', async () => {
    const traceId = '5b8efff798038103d269b633813fc60c';
    const producerSpanId = 'eee19b7ec3c1b174';
    const withCarrier = await testQueue.queue.add('query', { query: 'q', userId: 'u', topK: 99, trace: { traceparent: `00-${traceId}-${producerSpanId}-01` } });
    await expect(withCarrier.waitUntilFinished(testQueue.events, 30_000)).rejects.toThrow(/invalid rag-query job data: topK: must be at most 50/);
    const [rejected] = await exported(traceId, ['rag.job']);
    expect(rejected!.parentId).toBe(producerSpanId);
    expect(rejected!.error).toBe(true);
    expect(rejected!.meta['error.type']).toBe('InvalidJobDataError');
    expect(rejected!.meta['error.message']).toBe('invalid rag-query job data: topK: must be at most 50');
    expect(rejected!.meta['_dd.p.tid']).toBe(traceId.slice(0, 16));
    expect(rejected!.type).toBe('worker');
    expect(rejected!.metrics['_dd.top_level']).toBe(1);
    expect(DATADOG_PRIORITIES).toContain(rejected!.metrics[SAMPLING_PRIORITY]);

    // Datadog correlates the worker's log line with the trace: 32 hex digits for a 128-bit id.
    const logLine = await waitFor(
      () => worker.output().split('\n').find((line) => line.includes('rejected invalid job') && line.includes(`"jobId":"${withCarrier.id}"`)),
      10_000,
      'the rejection log line',
    );
    const logged = JSON.parse(logLine) as { dd?: { trace_id?: string; span_id?: string } };
    expect(logged.dd?.trace_id).toBe(traceId);
    expect(logged.dd?.span_id).toBe(BigInt(`0x${rejected!.spanId}`).toString(10));

    // A carrier that is itself broken cannot be joined: the rejection starts a trace of its own.
    const brokenCarrier = await testQueue.queue.add('query', { query: 'q', userId: 'u', trace: { traceparent: 'not-a-traceparent' } });
    await expect(brokenCarrier.waitUntilFinished(testQueue.events, 30_000)).rejects.toThrow(/trace\.traceparent/);
    const own = await waitFor(
      () => intake.store.allSpans().find((span) => span.name === 'rag.job' && span.meta['job.id'] === String(brokenCarrier.id)),
      20_000,
      'the rejected job span of a job with a broken carrier',
    );
    expect(own.parentId).toBeUndefined();
    expect(own.error).toBe(true);
    expect(own.meta['error.type']).toBe('InvalidJobDataError');
    expect(own.meta['error.message']).toMatch(/^invalid rag-query job data: trace\.traceparent: /);
    expect(own.traceId.slice(0, 16)).toBe(own.meta['_dd.p.tid']);
  });

  it('dd.trace_id is decimal for a 64-bit trace id, as Datadog correlates it', async () => {
    const traceId = `${'0'.repeat(16)}93ce929d0e0e4737`;
    const job = await testQueue.queue.add('query', { query: 'q', userId: 'u', topK: 0, trace: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await expect(job.waitUntilFinished(testQueue.events, 30_000)).rejects.toThrow(/topK/);
    const logLine = await waitFor(
      () => worker.output().split('\n').find((line) => line.includes('rejected invalid job') && line.includes(`"jobId":"${job.id}"`)),
      10_000,
      'the rejection log line',
    );
    expect((JSON.parse(logLine) as { dd?: { trace_id?: string } }).dd?.trace_id).toBe(BigInt('0x93ce929d0e0e4737').toString(10));
    const [span] = await exported(traceId.slice(16), ['rag.job']);
    expect(span!.meta['_dd.p.tid']).toBeUndefined();
  });

  it('a profiled job: hotspot files and profiling.top_line relative to the project root, never the checkout path', async () => {
    const traceId = '1d0b5e5a1d0b5e5a1d0b5e5a1d0b5e5a';
    const result = await foreignJob(`00-${traceId}-3333333333333333-01`, { profile: 'always', plantBottleneck: true });
    expect(result.profiling?.profiled).toBe(true);
    const files = result.hotspots!.map((hotspot) => hotspot.file).filter(Boolean);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(file).not.toContain(REPO_ROOT);
      expect(path.isAbsolute(file), file).toBe(false);
    }
    const spans = await exported(traceId, ['rag.job', 'sql.explain']);
    const job = only(spans, 'rag.job');
    const topLine = job.meta['profiling.top_line']!;
    expect(topLine).toBe(`${result.hotspots![0]!.file}:${result.hotspots![0]!.line}`);
    expect(topLine).not.toContain(REPO_ROOT);
    expect(topLine.startsWith('/')).toBe(false);
    // The retrieve statement's plan: taken after the profile stopped, its own span under rag.job.
    const explain = only(spans, 'sql.explain');
    expect(explain.parentId).toBe(job.spanId);
    expect(explain.type).toBe('sql');
    expect(explain.meta['db.statement']).toMatch(/FROM\s+\S*documents/i);
    expect(explain.metrics['db.plan.findings']).toBe(result.findings!.length);
  });

  it('span types, and the job span top-level and measured so trace metrics count it', async () => {
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    await foreignJob(`00-${traceId}-1111111111111111-01`);
    const spans = await exported(traceId, ['rag.job', ...STAGES, 'rag.sql']);
    expect(Object.fromEntries(spans.map((span) => [span.name, span.type]))).toEqual({
      'rag.job': 'worker',
      'rag.embed': 'custom',
      'rag.retrieve': 'sql',
      // The retrieve statement, run through ctx.sql.
      'rag.sql': 'sql',
      'rag.rerank': 'custom',
      'rag.generate': 'custom',
    });
    const job = only(spans, 'rag.job');
    expect(job.metrics['_dd.top_level']).toBe(1);
    expect(job.metrics['_dd.measured']).toBe(1);
    // Stages are children in the same process: not entry points, not counted as top-level hits.
    for (const stage of STAGES) expect(only(spans, stage).metrics['_dd.top_level'], stage).toBeUndefined();
  });

  it.each([
    ['03 (sampled + random, OpenTelemetry Python 1.45)', '03'],
    ['01', '01'],
    ['ff (every flag bit set)', 'ff'],
  ])('traceparent flags %s give a valid Datadog sampling priority', async (_label, flags) => {
    const traceId = `c0ffee${flags}${'0'.repeat(23)}1`;
    const result = await foreignJob(`00-${traceId}-2222222222222222-${flags}`);
    expect(result.traceId).toBe(traceId);
    const spans = await exported(traceId, ['rag.job', ...STAGES]);
    for (const span of spans) expect(span.metrics[SAMPLING_PRIORITY] ?? 1, span.name).toBe(1);
    expect(only(spans, 'rag.job').metrics[SAMPLING_PRIORITY]).toBe(1);
  });

  it('a trace ragscope starts is 128-bit: one 32-hex id in the CLI output, the job result and the payload', async () => {
    const run = await runCli(['enqueue', 'query', 'Who approves access requests?', '--user-id', 'alice', '--wait', '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const output = JSON.parse(run.stdout) as { traceId: string; result: RagQueryResult };
    expect(output.traceId).toMatch(/^[0-9a-f]{32}$/);
    // Datadog's form: start time in seconds, 32 zero bits, then 64 random bits.
    const upper = output.traceId.slice(0, 16);
    expect(upper).toMatch(/^[0-9a-f]{8}0{8}$/);
    expect(Math.abs(Number.parseInt(upper.slice(0, 8), 16) - Date.now() / 1000)).toBeLessThan(3600);
    expect(output.result.traceId).toBe(output.traceId);

    const spans = await exported(output.traceId, ['rag.enqueue', 'rag.job', ...STAGES, 'rag.sql']);
    expect(spans).toHaveLength(7);
    const enqueue = only(spans, 'rag.enqueue');
    const job = only(spans, 'rag.job');
    expect(enqueue.parentId).toBeUndefined();
    expect(enqueue.type).toBe('queue');
    expect(enqueue.metrics['_dd.top_level']).toBe(1);
    expect(job.parentId).toBe(enqueue.spanId);
    expect(job.metrics['_dd.top_level']).toBe(1);
    for (const span of spans) {
      expect(span.meta['_dd.p.tid'], span.name).toBe(upper);
      expect(span.traceId, span.name).toBe(output.traceId);
      expect(DATADOG_PRIORITIES, span.name).toContain(span.metrics[SAMPLING_PRIORITY] ?? 1);
    }

    const waterfall = await runCli(['trace', output.traceId, '--intake', intake.url], env);
    expect(waterfall.code).toBe(0);
    expect(waterfall.stdout).toContain(`trace ${output.traceId}`);
  });

  it('a 50-iteration leak check exports the enqueue and job spans, not 200 stage spans', async () => {
    const stageSpans = (): number => intake.store.allSpans().filter((span) => STAGES.includes(span.name)).length;
    const stageSpansBefore = stageSpans();
    const run = await runCli(['enqueue', 'leak-check', '--iterations', '50', '--wait', '--json'], env, 120_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const output = JSON.parse(run.stdout) as { traceId: string; result: LeakCheckResult };
    expect(output.result.samples).toHaveLength(50);
    expect(output.result.traceId).toBe(output.traceId);
    // dd-trace sends a trace chunk once its local root has ended, with every span started under
    // it (or earlier, in partial flushes): when rag.leak_check is in, the worker's spans are all in.
    const spans = await exported(output.traceId, ['rag.enqueue', 'rag.leak_check']);
    expect(spans.map((span) => span.name).sort()).toEqual(['rag.enqueue', 'rag.leak_check']);
    // Nor did the iterations start traces of their own.
    expect(stageSpans()).toBe(stageSpansBefore);
    const leakCheck = only(spans, 'rag.leak_check');
    expect(leakCheck.type).toBe('worker');
    expect(leakCheck.parentId).toBe(only(spans, 'rag.enqueue').spanId);
    expect(leakCheck.metrics['leak_check.iterations']).toBe(50);
    expect(leakCheck.metrics['_dd.top_level']).toBe(1);
  }, 150_000);
});
