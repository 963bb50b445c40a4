import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { deletePrefix } from '../helpers/redis';

interface EnqueueOutput {
  jobId: string;
  traceId: string;
  result: { traceId: string; profiling: { profiled: boolean; reason: string }; hotspots?: unknown[]; profilePath?: string };
}

const STAGES = ['rag.embed', 'rag.retrieve', 'rag.rerank', 'rag.generate'];

/** A loopback stand-in for the Datadog agent that only records what reaches it. */
async function startRecordingAgent(): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server: Server = createServer((request, response) => {
    paths.push(`${request.method} ${request.url}`);
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * OTLP traces with the standard variables: a real worker and the real CLI producer export
 * OTLP/HTTP protobuf to a loopback receiver that decodes the bodies with the official
 * opentelemetry-proto definitions.
 */
describe('OTLP traces (OTEL_TRACES_EXPORTER=otlp)', () => {
  const prefix = uniquePrefix('otlp');
  const profileDir = mkdtempSync(path.join(tmpdir(), 'ragscope-otlp-profiles-'));
  let receiver: OtlpReceiver;
  let agent: Awaited<ReturnType<typeof startRecordingAgent>>;
  let worker: WorkerProcess;
  let env: Record<string, string>;

  const enqueue = async (args: string[], extraEnv: Record<string, string> = {}): Promise<EnqueueOutput> => {
    const run = await runCli(['enqueue', 'query', 'Which Redis eviction policy suits a job queue?', '-u', 'otlp', ...args, '--wait', '--json'], {
      ...env,
      ...extraEnv,
    });
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as EnqueueOutput;
  };
  const completeTrace = (traceId: string) =>
    waitFor(
      () => {
        const spans = receiver.trace(traceId);
        // rag.job ends after every span under it, and a batch exporter sends spans as they end: once it
        // is here, its children are too (counting spans raced it when a child was added).
        return spans.some((span) => span.name === 'rag.job') && spans.some((span) => span.name === 'rag.enqueue') ? spans : undefined;
      },
      30_000,
      `the spans of trace ${traceId} at the OTLP receiver`,
    );

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    agent = await startRecordingAgent();
    env = {
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      // Were dd-trace still sending spans, they would land here.
      DD_TRACE_AGENT_URL: agent.url,
      DD_TRACE_SAMPLE_RATE: '1',
      RAGSCOPE_PROFILE_DIR: profileDir,
    };
    worker = await startWorkerProcess(env);
  });

  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    await agent?.close();
    await deletePrefix(prefix);
    rmSync(profileDir, { recursive: true, force: true });
  });

  it('sends one trace across the queue hop: rag.enqueue → rag.job → the four stages, 128-bit ids, protobuf to /v1/traces', async () => {
    const output = await enqueue([]);
    const spans = await completeTrace(output.traceId);
    const byName = (name: string): ReceivedSpan => {
      const matching = spans.filter((span) => span.name === name);
      expect(matching, name).toHaveLength(1);
      return matching[0]!;
    };
    const enqueueSpan = byName('rag.enqueue');
    const jobSpan = byName('rag.job');

    // One 128-bit trace: 32 hex digits, the upper half not zero-padded, the id the job result reports.
    expect(output.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(output.traceId.slice(0, 16)).not.toBe('0000000000000000');
    expect(output.result.traceId).toBe(output.traceId);
    expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([output.traceId]));

    // The parent chain crosses the queue through data.trace.
    expect(enqueueSpan.parentSpanId).toBe('');
    expect(jobSpan.parentSpanId).toBe(enqueueSpan.spanId);
    for (const stage of STAGES) expect(byName(stage).parentSpanId, stage).toBe(jobSpan.spanId);

    // The same kinds and attributes as the Datadog path.
    expect(enqueueSpan.kind).toBe(SpanKind.PRODUCER + 1); // OTLP's enum starts at SPAN_KIND_UNSPECIFIED = 0
    expect(jobSpan.kind).toBe(SpanKind.CONSUMER + 1);
    expect(enqueueSpan.attributes).toMatchObject({ 'user.id': 'otlp', 'query.length': 46, 'job.id': output.jobId, 'messaging.system': 'bullmq' });
    expect(jobSpan.attributes).toMatchObject({ 'user.id': 'otlp', 'query.length': 46, 'job.id': output.jobId });
    expect(byName('rag.retrieve').attributes['retrieve.rows']).toEqual(expect.any(Number));
    expect(byName('rag.rerank').attributes['rerank.candidates']).toEqual(expect.any(Number));
    for (const span of spans) {
      expect(span.resource['service.name'], span.name).toBe('ragscope');
      expect(span.scope, span.name).toBe('ragscope');
    }

    // Every request was OTLP/HTTP protobuf to /v1/traces that decoded; nothing went to the agent.
    expect(receiver.requests.map((request) => `${request.method} ${request.path} ${request.contentType}`)).toEqual(
      receiver.requests.map(() => 'POST /v1/traces application/x-protobuf'),
    );
    expect(agent.paths.filter((entry) => /\/v0\.[45]\/traces/.test(entry))).toEqual([]);
  });

  it('keeps the sampling decision across the hop: an unsampled producer leaves no span on either side', async () => {
    const unsampled = await enqueue([], { DD_TRACE_SAMPLE_RATE: '0' });
    expect(unsampled.result.traceId).toBe(unsampled.traceId);
    // The worker finished the unsampled job before it started this one, and the batch exporter keeps
    // order: once this trace's worker spans are in, any span of the unsampled trace would be too.
    const sampled = await enqueue([]);
    await completeTrace(sampled.traceId);
    expect(receiver.trace(unsampled.traceId)).toEqual([]);
  });

  it('still profiles a job that asks for it, with the result and the span naming the hotspot', async () => {
    const output = await enqueue(['--plant-bottleneck', '--profile', 'always']);
    expect(output.result.profiling.profiled).toBe(true);
    expect(output.result.hotspots?.length).toBeGreaterThan(0);
    expect(readdirSync(profileDir).some((file) => output.result.profilePath?.endsWith(file))).toBe(true);
    const spans = await completeTrace(output.traceId);
    const jobSpan = spans.find((span) => span.name === 'rag.job')!;
    expect(jobSpan.attributes).toMatchObject({ 'profiling.selected': true });
    expect(jobSpan.attributes['profiling.top_function']).toEqual(expect.any(String));
  });
});

describe('OTLP traces with the continuous profiler on (RAGSCOPE_TRACES_EXPORTER=otlp)', () => {
  const prefix = uniquePrefix('otlp-continuous');
  const profileDir = mkdtempSync(path.join(tmpdir(), 'ragscope-otlp-continuous-'));
  let receiver: OtlpReceiver;
  let agent: Awaited<ReturnType<typeof startRecordingAgent>>;
  let worker: WorkerProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    agent = await startRecordingAgent();
    worker = await startWorkerProcess({
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      RAGSCOPE_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      DD_TRACE_AGENT_URL: agent.url,
      DD_TRACE_SAMPLE_RATE: '1',
      DD_PROFILING_ENABLED: 'true',
      DD_PROFILING_EXPORTERS: 'file',
      DD_PROFILING_UPLOAD_PERIOD: '2',
      RAGSCOPE_PROFILE_DIR: profileDir,
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    await agent?.close();
    await deletePrefix(prefix);
    rmSync(profileDir, { recursive: true, force: true });
  });

  it('writes continuous profiles through dd-trace while spans go over OTLP only', async () => {
    // A producer without a tracer: the worker starts the trace (rag.job is the root).
    const run = await runCli(['enqueue', 'query', 'GDPR retention of audit logs', '-u', 'continuous', '--wait', '--json'], {
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      DD_TRACE_ENABLED: 'false',
    });
    expect(run.code, run.stderr).toBe(0);
    const output = JSON.parse(run.stdout) as EnqueueOutput;
    const spans = await waitFor(() => (receiver.trace(output.result.traceId).length >= 5 ? receiver.trace(output.result.traceId) : undefined), 30_000, 'the worker trace');
    expect(spans.map((span) => span.name).sort()).toEqual(['rag.job', ...STAGES, 'rag.sql'].sort());
    expect(spans.find((span) => span.name === 'rag.job')!.parentSpanId).toBe('');
    expect(output.result.profiling.reason).toMatch(/continuous profiler/);
    await waitFor(
      () => readdirSync(profileDir).find((file) => file.startsWith('continuous-wall') && file.endsWith('.pprof')),
      30_000,
      'a continuous wall profile file',
    );
    expect(agent.paths.filter((entry) => /\/v0\.[45]\/traces/.test(entry))).toEqual([]);
    expect(receiver.requests.every((request) => request.contentType === 'application/x-protobuf')).toBe(true);
  });
});
