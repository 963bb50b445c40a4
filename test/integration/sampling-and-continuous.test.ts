import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { REPO_ROOT, runCli, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

interface EnqueueOutput {
  traceId: string;
  result: { traceId: string; profiling?: { profiled: boolean; reason: string } };
}

describe('trace sampling decided once, at the producer', () => {
  const prefix = uniquePrefix('sampling');
  let intake: LocalIntake;
  let worker: WorkerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    intake = await startLocalIntake({ port: 0 });
    env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_AGENT_URL: intake.url };
    // The worker's own rate would apply only to jobs without a carrier; it must not matter here.
    // Capture 0: the sampled trace's spans are counted exactly, and a job picked by the 1% capture adds a sql.explain span.
    worker = await startWorkerProcess({ ...env, DD_TRACE_SAMPLE_RATE: '1', DD_PROFILING_CAPTURE_PCT: '0' });
  });

  afterAll(async () => {
    await worker?.stop();
    await intake?.close();
    await deletePrefix(prefix);
  });

  const enqueue = async (sampleRate: string): Promise<EnqueueOutput> => {
    const run = await runCli(['enqueue', 'query', 'GDPR retention of audit logs', '-u', 'sampler', '--wait', '--json'], {
      ...env,
      DD_TRACE_SAMPLE_RATE: sampleRate,
    });
    expect(run.stderr).toBe('');
    return JSON.parse(run.stdout) as EnqueueOutput;
  };

  it('a sampled trace has the full tree; an unsampled one leaves no span on either side of the queue', async () => {
    const unsampled = await enqueue('0');
    const sampled = await enqueue('1');
    // The unsampled trace still has an id (it travelled in the traceparent) and the job ran.
    expect(unsampled.result.traceId).toBe(unsampled.traceId);
    const sampledSpans = await waitFor(
      () => {
        const spans = intake.store.trace(sampled.traceId);
        return spans.length >= 7 ? spans : undefined;
      },
      15_000,
      'the sampled trace',
    );
    expect(sampledSpans.map((span) => span.name).sort()).toEqual(
      ['rag.embed', 'rag.enqueue', 'rag.generate', 'rag.job', 'rag.rerank', 'rag.retrieve', 'rag.sql'].sort(),
    );
    // Both processes flush within a few seconds; by the time the sampled trace is complete, any span
    // of the earlier, unsampled one would have arrived too.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(intake.store.trace(unsampled.traceId)).toEqual([]);
  });
});

describe('continuous profiler and per-job profiles in one worker', () => {
  const prefix = uniquePrefix('continuous');
  const outputDir = path.join(REPO_ROOT, '.ragscope', prefix);
  let worker: WorkerProcess;

  beforeAll(async () => {
    worker = await startWorkerProcess({
      REDIS_URL,
      RAGSCOPE_QUEUE_PREFIX: prefix,
      DD_TRACE_ENABLED: 'true',
      // Nothing listens here: traces are dropped, profiles go to files.
      DD_TRACE_AGENT_URL: 'http://127.0.0.1:9',
      DD_PROFILING_ENABLED: 'true',
      DD_PROFILING_EXPORTERS: 'file',
      DD_PROFILING_UPLOAD_PERIOD: '2',
      RAGSCOPE_PROFILE_DIR: outputDir,
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await deletePrefix(prefix);
  });

  it('per-job profiling steps aside with a reason, jobs still complete, and the file exporter writes profiles ragscope reads', async () => {
    const run = await runCli(
      ['enqueue', 'query', 'redis eviction policy', '-u', 'continuous', '--profile', 'always', '--wait', '--json'],
      { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' },
    );
    expect(run.code).toBe(0);
    const output = JSON.parse(run.stdout) as EnqueueOutput;
    expect(output.result.profiling).toEqual({
      profiled: false,
      reason: 'the wall profiler is in use (the continuous profiler, DD_PROFILING_ENABLED=true, owns it)',
    });
    const wallProfile = await waitFor(
      () => readdirSync(outputDir).find((file) => file.startsWith('continuous-wall') && file.endsWith('.pprof')),
      20_000,
      'a continuous wall profile file',
    );
    const hotspots = await runCli(['hotspots', path.join(outputDir, wallProfile), '--json']);
    expect(hotspots.code).toBe(0);
    const parsed = JSON.parse(hotspots.stdout) as { sampleType: string; hotspots: unknown[] };
    expect(parsed.sampleType).toBe('wall');
    expect(worker.child.exitCode).toBeNull();
  });
});
