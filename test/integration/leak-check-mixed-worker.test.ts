import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { LEAK_CHECK_LIMITS, leakCheckProgressSchema } from '../../src/contracts/leak-check';
import { QUEUES } from '../../src/contracts/queues';
import { RagscopeProducer } from '../../src/queue/producer';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

const QUERIES = 5;
/** Generous bounds against a hang on a loaded 2-core machine, never performance claims. */
const QUERY_WAIT_MS = 300_000;
const LEAK_CHECK_WAIT_MS = 900_000;

const median = (values: number[]): number => [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)]!;

/**
 * A `leak-check` of the maximum length in a worker that also consumes `rag-query` (issue 16,
 * finding 4: one 1,000-iteration leak-check held every query for 33 s). The leak-check now takes
 * the worker's exclusive gate one iteration at a time and yields between iterations, so queries
 * run in between; each reading is still taken with no query running, so the verdict stays right.
 */
describe('a 1,000-iteration leak-check in a mixed worker', () => {
  const prefix = uniquePrefix('leak-mixed');
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0' };
  const producer = new RagscopeProducer(loadConfig(env));
  let worker: WorkerProcess;

  beforeAll(async () => {
    worker = await startWorkerProcess(env);
  });

  afterAll(async () => {
    await producer.close();
    await worker?.stop();
    await deletePrefix(prefix);
  });

  /** One query, waited for; its latency from enqueue to finish as BullMQ recorded them. */
  const timedQuery = async (index: number): Promise<number> => {
    const { jobId } = await producer.enqueueQuery({ query: `how is a backlog drained? (${index})`, userId: 'mixed', profile: 'never' });
    await producer.waitForQueryResult(jobId, QUERY_WAIT_MS);
    const job = (await producer.findJob(QUEUES.ragQuery, jobId))!;
    return job.finishedOn! - job.timestamp;
  };

  const leakCheckIteration = async (jobId: string): Promise<number> => {
    const job = await producer.findJob(QUEUES.leakCheck, jobId);
    const progress = leakCheckProgressSchema.safeParse(job?.progress);
    return progress.success ? progress.data.iteration : 0;
  };

  it('answers queries while it runs, one iteration behind at most, and still finds no leak in the clean pipeline', async () => {
    const alone: number[] = [];
    for (let index = 0; index < QUERIES; index++) alone.push(await timedQuery(index));

    const iterations = LEAK_CHECK_LIMITS.iterations.max;
    const leakCheck = await producer.enqueueLeakCheck({ iterations });
    await waitFor(async () => ((await leakCheckIteration(leakCheck.jobId)) >= 5 ? true : undefined), QUERY_WAIT_MS, 'the leak-check to start');

    const during: number[] = [];
    const iterationAtFinish: number[] = [];
    for (let index = 0; index < QUERIES; index++) {
      during.push(await timedQuery(QUERIES + index));
      iterationAtFinish.push(await leakCheckIteration(leakCheck.jobId));
    }
    // Read before the leak-check ends: every query finished while it was still running.
    const stateAfterQueries = await (await producer.findJob(QUEUES.leakCheck, leakCheck.jobId))!.getState();

    const result = await producer.waitForLeakCheckResult(leakCheck.jobId, LEAK_CHECK_WAIT_MS);
    const leakJob = (await producer.findJob(QUEUES.leakCheck, leakCheck.jobId))!;
    console.log(
      `leak-check ${iterations} iterations in a mixed worker: ${((leakJob.finishedOn! - leakJob.processedOn!) / 1000).toFixed(1)} s; ` +
        `query latency alone median ${median(alone)} ms (max ${Math.max(...alone)}), ` +
        `during the leak-check median ${median(during)} ms (max ${Math.max(...during)}); ` +
        `leak-check iteration when each finished: ${iterationAtFinish.join(', ')}`,
    );
    expect(stateAfterQueries).toBe('active');
    expect(iterationAtFinish.every((iteration) => iteration < iterations)).toBe(true);
    expect(result.samples).toHaveLength(iterations);
    expect(result.leakDetected).toBe(false);
  }, LEAK_CHECK_WAIT_MS + 2 * QUERY_WAIT_MS);
});
