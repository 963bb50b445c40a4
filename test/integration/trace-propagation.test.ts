import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import type { ExportedSpan } from '../../src/telemetry/intake/exported-span';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

/**
 * One trace across the queue hop, proved on what dd-trace really exported: the CLI producer and
 * the worker are separate processes, both sending to a local intake.
 */
describe('trace across the queue hop', () => {
  const prefix = uniquePrefix('trace');
  let intake: LocalIntake;
  let worker: WorkerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    intake = await startLocalIntake({ port: 0 });
    env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_AGENT_URL: intake.url, DD_SERVICE: 'ragscope-test', DD_TRACE_SAMPLE_RATE: '1' };
    worker = await startWorkerProcess(env);
  });

  afterAll(async () => {
    await worker?.stop();
    await intake?.close();
    await deletePrefix(prefix);
  });

  it('makes rag.job a child of the producer span, with the four stages as its children', async () => {
    const run = await runCli(['enqueue', 'query', 'How do I rotate encryption keys?', '--user-id', 'alice', '--wait', '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const output = JSON.parse(run.stdout) as { jobId: string; traceId: string; result: { traceId: string; sources: unknown[]; stages: Array<{ name: string }> } };
    expect(output.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(output.result.traceId).toBe(output.traceId);
    expect(output.result.sources.length).toBeGreaterThan(0);
    expect(output.result.stages.map((stage) => stage.name)).toEqual(['embed', 'retrieve', 'rerank', 'generate']);

    const spans = await waitFor(
      () => {
        const trace = intake.store.trace(output.traceId);
        return trace.some((span) => span.name === 'rag.generate') && trace.some((span) => span.name === 'rag.enqueue') ? trace : undefined;
      },
      15_000,
      'the exported spans of the trace',
    );
    const byName = (name: string): ExportedSpan => {
      const matches = spans.filter((span) => span.name === name);
      expect(matches, name).toHaveLength(1);
      return matches[0]!;
    };
    const enqueue = byName('rag.enqueue');
    const job = byName('rag.job');
    expect(enqueue.traceId).toBe(output.traceId);
    expect(enqueue.parentId).toBeUndefined();
    expect(job.traceId).toBe(enqueue.traceId);
    expect(job.parentId).toBe(enqueue.spanId);
    expect(job.meta['process_id'] ?? job.metrics['process_id']).not.toBe(enqueue.meta['process_id'] ?? enqueue.metrics['process_id']);
    for (const stage of ['rag.embed', 'rag.retrieve', 'rag.rerank', 'rag.generate']) {
      expect(byName(stage).parentId, stage).toBe(job.spanId);
    }
    expect(job.meta['user.id']).toBe('alice');
    expect(job.metrics['query.length']).toBe('How do I rotate encryption keys?'.length);
    expect(job.meta['job.id']).toBe(output.jobId);
    expect(byName('rag.retrieve').metrics['retrieve.rows']).toBeGreaterThan(0);
    expect(byName('rag.rerank').metrics['rerank.candidates']).toBe(byName('rag.retrieve').metrics['retrieve.rows']);
    expect(enqueue.service).toBe('ragscope-test');

    const waterfall = await runCli(['trace', output.traceId, '--intake', intake.url], env);
    expect(waterfall.code).toBe(0);
    expect(waterfall.stdout).toMatch(/rag\.enqueue[\s\S]*\n  rag\.job[\s\S]*\n    rag\.embed/);
  });

  it('starts a new trace when a foreign producer sends no carrier', async () => {
    const { Queue, QueueEvents } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('rag-query', { connection, prefix });
    const events = new QueueEvents('rag-query', { connection: connection.duplicate(), prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add('from-a-python-script', { query: 'GDPR retention', userId: 'script' });
      const result = (await job.waitUntilFinished(events, 30_000).catch(async (error: Error) => {
        // Seen once in eight full runs: say where the job was and what the worker logged.
        const state = await queue.getJobState(job.id!);
        throw new Error(`${error.message}; job state ${state}; worker output:\n${worker.output().slice(-4000)}`);
      })) as { traceId: string };
      expect(result.traceId).toMatch(/^[0-9a-f]{32}$/);
      const spans = await waitFor(
        () => {
          const trace = intake.store.trace(result.traceId);
          return trace.some((span) => span.name === 'rag.generate') ? trace : undefined;
        },
        15_000,
        'the worker spans',
      );
      const job_ = spans.find((span) => span.name === 'rag.job')!;
      expect(job_.parentId).toBeUndefined();
    } finally {
      await events.close();
      await queue.close();
      await connection.quit();
    }
  });
});
