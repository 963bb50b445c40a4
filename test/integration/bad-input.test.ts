import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALFORMED_RAG_QUERIES } from '../helpers/malformed-payloads';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { runCli, startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { openTestQueue, type TestQueue } from '../helpers/redis';

/**
 * Bad input from both sides of the queue: the CLI refuses it before anything is enqueued, and a
 * foreign script's bad job fails once (no retries) while the worker process carries on.
 */
describe('bad input', () => {
  const prefix = uniquePrefix('bad-input');
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' };
  let testQueue: TestQueue;
  let worker: WorkerProcess;

  beforeAll(async () => {
    testQueue = await openTestQueue(prefix);
  });

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
  });

  const cliCases: Array<[string, string[], RegExp]> = [
    ['empty query', ['enqueue', 'query', '', '-u', 'alice'], /query: must not be blank/],
    ['blank query', ['enqueue', 'query', '   ', '-u', 'alice'], /query: must not be blank/],
    ['query over 2,000 characters', ['enqueue', 'query', 'x'.repeat(2001), '-u', 'alice'], /query: must be at most 2000 characters/],
    ['no user id', ['enqueue', 'query', 'hello'], /required option '-u, --user-id <id>'/],
    ['user id over 128 characters', ['enqueue', 'query', 'hello', '-u', 'u'.repeat(129)], /userId: must be at most 128 characters/],
    ['top-k 0', ['enqueue', 'query', 'hello', '-u', 'a', '--top-k', '0'], /--top-k.*whole number from 1 to 50/],
    ['top-k 51', ['enqueue', 'query', 'hello', '-u', 'a', '--top-k', '51'], /--top-k.*whole number from 1 to 50/],
    ['top-k not a number', ['enqueue', 'query', 'hello', '-u', 'a', '--top-k', 'five'], /--top-k.*whole number/],
    ['timeout not a number', ['enqueue', 'query', 'hello', '-u', 'a', '--wait', '--timeout', 'soon'], /--timeout.*seconds/],
    ['unknown option', ['enqueue', 'query', 'hello', '-u', 'a', '--topk', '3'], /unknown option '--topk'/],
    ['unknown queue', ['enqueue', 'nonsense'], /unknown command 'nonsense'/],
    ['missing query text', ['enqueue', 'query', '-u', 'a'], /missing required argument 'text'/],
    ['empty user id', ['enqueue', 'query', 'hello', '-u', ''], /userId: must not be blank/],
    ['blank user id', ['enqueue', 'query', 'hello', '-u', '  '], /userId: must not be blank/],
    ['top-k negative', ['enqueue', 'query', 'hello', '-u', 'a', '--top-k', '-1'], /--top-k|unknown option/],
    ['top-k fractional', ['enqueue', 'query', 'hello', '-u', 'a', '--top-k', '2.5'], /--top-k.*whole number/],
    ['top-k empty', ['enqueue', 'query', 'hello', '-u', 'a', '--top-k', ''], /--top-k.*whole number/],
    ['top-k exponent', ['enqueue', 'query', 'hello', '-u', 'a', '--top-k', '1e1'], /--top-k.*whole number/],
    ['timeout zero', ['enqueue', 'query', 'hello', '-u', 'a', '--wait', '--timeout', '0'], /--timeout.*seconds/],
    ['timeout negative', ['enqueue', 'query', 'hello', '-u', 'a', '--wait', '--timeout', '-5'], /--timeout|unknown option/],
    ['profile unknown', ['enqueue', 'query', 'hello', '-u', 'a', '--profile', 'sometimes'], /--profile.*Allowed choices are auto, always, never/],
    ['multibyte query over 2,000 characters', ['enqueue', 'query', 'é'.repeat(2001), '-u', 'a'], /query: must be at most 2000 characters/],
  ];

  it('the CLI refuses 20+ kinds of malformed input with a clear message, exit code 1, no stack trace, nothing enqueued', async () => {
    expect(cliCases.length).toBeGreaterThanOrEqual(20);
    const runs = await Promise.all(cliCases.map(([, args]) => runCli(args, env)));
    runs.forEach((run, index) => {
      const [label, , message] = cliCases[index]!;
      expect(run.code, label).toBe(1);
      expect(run.stderr, label).toMatch(message);
      expect(run.stderr, label).not.toMatch(/\n\s+at /);
    });
    expect(await testQueue.queue.getJobCountByTypes('wait', 'active', 'completed', 'failed', 'delayed')).toBe(0);
  });

  it('a worker fails foreign malformed jobs once, without retries, and still processes the next good job', async () => {
    worker = await startWorkerProcess(env);
    const badJobs = await Promise.all(
      MALFORMED_RAG_QUERIES.map(([label, payload]) =>
        testQueue.queue.add(`bad: ${label}`, payload as object, { attempts: 3, backoff: { type: 'fixed', delay: 10 } }),
      ),
    );
    expect(badJobs.length).toBeGreaterThanOrEqual(20);
    const outcomes = await Promise.all(
      badJobs.map((job) => job.waitUntilFinished(testQueue.events, 30_000).then(() => 'completed', (error: Error) => error.message)),
    );
    for (const [index, outcome] of outcomes.entries()) {
      const [label, , field] = MALFORMED_RAG_QUERIES[index]!;
      expect(outcome, label).toMatch(/^invalid rag-query job data: /);
      expect(outcome, label).toContain(field);
      const stored = await testQueue.queue.getJob(badJobs[index]!.id!);
      expect(stored!.attemptsMade, `${label}: attempts`).toBe(1);
      expect(await stored!.getState(), label).toBe('failed');
    }

    const good = await testQueue.queue.add('query', { query: 'Which Redis eviction policy suits a job queue?', userId: 'after-bad-jobs' });
    const result = (await good.waitUntilFinished(testQueue.events, 30_000)) as { sources: Array<{ id: string }> };
    expect(result.sources.length).toBeGreaterThan(0);
    expect(worker.child.exitCode).toBeNull();
    expect(worker.output()).toContain('rejected invalid job');
    // Readable reasons only: a rejected job is not a crash.
    expect(worker.output()).not.toMatch(/UnrecoverableError: .*\n\s+at /);
  });
});
