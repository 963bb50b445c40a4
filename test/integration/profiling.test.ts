import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RagQueryResult } from '../../src/contracts/rag-query';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { REPO_ROOT, runCli, startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { deletePrefix, openTestQueue, type TestQueue } from '../helpers/redis';

const RERANK_SOURCE = path.join(REPO_ROOT, 'src/pipeline/rerank.ts');
/** A question matching ~60 documents, so the planted rerank has real work. */
const WIDE_QUERY = 'How do embeddings, cosine similarity, reranking and chunking decide which documents a RAG answer retrieves?';

/** First and last line of a top-level function in a source file. */
function functionLines(file: string, name: string): [number, number] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((line) => line.startsWith(`export function ${name}(`));
  const end = lines.findIndex((line, index) => index > start && line === '}');
  return [start + 1, end + 1];
}

describe('per-job CPU profiles', () => {
  const prefix = uniquePrefix('profiling');
  const outputDir = path.join(REPO_ROOT, '.ragscope', prefix);
  let testQueue: TestQueue;
  let queue: Queue;
  let events: QueueEvents;
  let connection: Redis;
  let worker: WorkerProcess;

  beforeAll(async () => {
    testQueue = await openTestQueue(prefix);
    ({ queue, events, connection } = testQueue);
    worker = await startWorkerProcess(
      { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_PROFILE_DIR: outputDir, DD_PROFILING_CAPTURE_PCT: '0' },
      ['--concurrency', '2'],
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
  });

  // A bound against a hang, not a performance claim. The first test adds 60 jobs at once, 20 of them
  // profiled one at a time through the planted quadratic rerank: the last waits for all the others,
  // and next to two CPU burners on 2 cores the 53rd of them was still running after 60 s.
  const finish = (job: Job) => job.waitUntilFinished(events, 240_000) as Promise<RagQueryResult>;

  it('names the planted quadratic function and a line inside it for ≥ 19 of 20 profiled jobs among concurrent normal ones', async () => {
    const [firstLine, lastLine] = functionLines(RERANK_SOURCE, 'removeNearDuplicatesQuadratic');
    const normal = Array.from({ length: 40 }, (_, index) => ({
      name: 'query',
      data: { query: `${WIDE_QUERY} variant ${index}`, userId: 'neighbour' },
    }));
    const profiled = Array.from({ length: 20 }, (_, index) => ({
      name: 'query',
      data: { query: `${WIDE_QUERY} ${index}`, userId: 'profiled', plantBottleneck: true, profile: 'always' },
    }));
    // Interleaved: every profiled job has normal jobs running around it on the other slot.
    const interleaved = normal.flatMap((job, index) => (index % 2 === 0 ? [job, profiled[index / 2]!] : [job]));
    // A worker that has run the planted code before, as any long-running worker has: in the first
    // runs V8 installs new optimised code for the hot loop mid-job, and samples in code the profiler
    // has not yet registered are charged to the caller (a V8 limitation, see README).
    // Ten runs take V8 through all of its tiers (baseline, Maglev, TurboFan) even on a loaded machine.
    for (let run = 0; run < 10; run++) {
      await finish(await queue.add('warm-up', { query: `${WIDE_QUERY} warm-up ${run}`, userId: 'warm-up', plantBottleneck: true }));
    }
    const jobs = await queue.addBulk(interleaved);
    const results = await Promise.all(jobs.map(finish));

    const profiledResults = results.filter((_, index) => interleaved[index]!.data.userId === 'profiled');
    expect(profiledResults).toHaveLength(20);
    const hits = profiledResults.filter((result) => {
      const top = result.hotspots?.[0];
      return (
        top !== undefined &&
        top.function === 'removeNearDuplicatesQuadratic' &&
        top.file === 'src/pipeline/rerank.ts' &&
        top.line >= firstLine &&
        top.line <= lastLine
      );
    });
    expect(hits.length, JSON.stringify(profiledResults.map((result) => result.hotspots?.[0]))).toBeGreaterThanOrEqual(19);
    for (const result of profiledResults) {
      expect(result.profiling).toMatchObject({ profiled: true, reason: 'the job asked for a profile' });
      expect(existsSync(result.profilePath!)).toBe(true);
    }
    // Normal jobs were not profiled (capture rate 0) and say why.
    for (const result of results.filter((_, index) => interleaved[index]!.data.userId === 'neighbour')) {
      expect(result.hotspots).toBeUndefined();
      expect(result.profiling!.profiled).toBe(false);
      // Either reason holds: the capture rate is 0, and the profiled burst may have pushed overhead over the cap.
      expect(result.profiling!.reason).toMatch(/not sampled at the 0% capture rate|at or above the 5% cap/);
    }

    // The saved profile tells the same story through the CLI.
    const cli = await runCli(['hotspots', hits[0]!.profilePath!, '--json']);
    expect(cli.code).toBe(0);
    const fromFile = JSON.parse(cli.stdout) as { hotspots: Array<{ function: string; line: number }> };
    expect(fromFile.hotspots[0]).toMatchObject({ function: hits[0]!.hotspots![0]!.function, line: hits[0]!.hotspots![0]!.line });
    const text = await runCli(['hotspots', hits[0]!.profilePath!, '--top', '3', '--svg', path.join(outputDir, 'flame.svg')]);
    expect(text.stdout).toMatch(/removeNearDuplicatesQuadratic {2}src\/pipeline\/rerank\.ts:\d+/);
    expect(readFileSync(path.join(outputDir, 'flame.svg'), 'utf8')).toContain('removeNearDuplicatesQuadratic');
  }, 480_000);

  it('a profiled normal job does not list the planted function', async () => {
    // A normal job takes 2-4 ms of CPU: at one sample a millisecond, one profile alone may hold no
    // sample of ragscope's code on a fast machine. Five profiles make an empty set vanishingly rare,
    // and every one of them is checked.
    const results: RagQueryResult[] = [];
    for (let run = 0; run < 5; run++) {
      results.push(await finish(await queue.add('query', { query: `${WIDE_QUERY} ${run}`, userId: 'normal-profiled', profile: 'always' })));
    }
    const listed = results.flatMap((result) => result.hotspots!.map((hotspot) => hotspot.function));
    expect(listed.length).toBeGreaterThan(0);
    expect(listed).not.toContain('removeNearDuplicatesQuadratic');
  });

  it('profiles a repeat of a job that ran slow', async () => {
    // The planted job is slow relative to a 1 ms threshold; a second worker with that threshold remembers it.
    const slowPrefix = `${prefix}-slow`;
    const slowWorker = await startWorkerProcess(
      { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: slowPrefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_PROFILE_DIR: outputDir, DD_PROFILING_CAPTURE_PCT: '0', RAGSCOPE_PROFILE_SLOW_MS: '1' },
      ['--concurrency', '1'],
    );
    const slowQueue = new Queue('rag-query', { connection, prefix: slowPrefix });
    const slowEvents = new QueueEvents('rag-query', { connection: connection.duplicate(), prefix: slowPrefix });
    try {
      await slowEvents.waitUntilReady();
      const data = { query: WIDE_QUERY, userId: 'repeat', plantBottleneck: true };
      const first = (await (await slowQueue.add('query', data)).waitUntilFinished(slowEvents, 30_000)) as RagQueryResult;
      const second = (await (await slowQueue.add('query', data)).waitUntilFinished(slowEvents, 30_000)) as RagQueryResult;
      expect(first.profiling).toMatchObject({ profiled: false });
      expect(second.profiling).toMatchObject({ profiled: true, reason: 'an earlier run of this job was slow' });
      expect(second.hotspots!.length).toBeGreaterThan(0);
      expect(second.profilePath).toBeDefined();
    } finally {
      await slowWorker.stop();
      await slowEvents.close();
      await slowQueue.close();
      await deletePrefix(slowPrefix);
    }
  });
});
