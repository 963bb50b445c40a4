import { createServer, type Server } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeakCheckResult } from '../../src/contracts/leak-check';
import { QUEUES } from '../../src/contracts/queues';
import { freePort, REDIS_URL, uniquePrefix } from '../helpers/env';
import { startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { openTestQueue, type TestQueue } from '../helpers/redis';

const BATCH = 400;

describe.each([
  ['unreachable', async () => ({ port: await freePort(), close: async () => undefined })],
  [
    'accepting connections but never answering',
    async () => {
      const server: Server = createServer(() => undefined);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { port: (server.address() as { port: number }).port, close: async () => void server.close() };
    },
  ],
])('telemetry backend %s', (_label, startBackend) => {
  const prefix = uniquePrefix('telemetry-down');
  let backend: { port: number; close: () => Promise<void> };
  let testQueue: TestQueue;
  let leakQueue: Queue;
  let leakEvents: QueueEvents;
  let worker: WorkerProcess;

  beforeAll(async () => {
    backend = await startBackend();
    testQueue = await openTestQueue(prefix);
    leakQueue = new Queue(QUEUES.leakCheck, { connection: testQueue.connection, prefix });
    leakEvents = new QueueEvents(QUEUES.leakCheck, { connection: testQueue.connection.duplicate(), prefix });
    await leakEvents.waitUntilReady();
    // Every trace kept: the exporter has the most to hold on to.
    worker = await startWorkerProcess(
      { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_AGENT_URL: `http://127.0.0.1:${backend.port}`, DD_TRACE_SAMPLE_RATE: '1', DD_PROFILING_CAPTURE_PCT: '0' },
      ['--concurrency', '4'],
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await leakEvents?.close();
    await leakQueue?.close();
    await testQueue?.close();
    await backend?.close();
  });

  /** Post-GC heap of the worker, read by a one-iteration leak check (it forces a full GC). */
  const postGcHeapMb = async (): Promise<number> => {
    const result = (await (await leakQueue.add('leak-check', { iterations: 1 })).waitUntilFinished(leakEvents, 30_000)) as LeakCheckResult;
    return result.samples[0]!.heapUsedMb;
  };

  it(`completes every job and holds no growing backlog of spans (3 batches of ${BATCH} traced jobs)`, async () => {
    const heapAfterBatch: number[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const jobs = await testQueue.queue.addBulk(
        Array.from({ length: BATCH }, (_, index) => ({ name: 'query', data: { query: `audit log retention ${batch}-${index}`, userId: 'telemetry' } })),
      );
      const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(testQueue.events, 120_000) as Promise<{ sources: unknown[]; traceId?: string }>));
      expect(results.every((result) => result.sources.length > 0 && result.traceId)).toBe(true);
      heapAfterBatch.push(await postGcHeapMb());
    }
    // 800 more traced jobs (4,800 spans) between the first and last reading: retained spans would
    // show as megabytes here; a bounded exporter drops what it cannot send.
    const growthMb = heapAfterBatch[2]! - heapAfterBatch[0]!;
    console.log(`telemetry ${_label}: post-GC heap after each batch ${heapAfterBatch.join(', ')} MB (growth ${growthMb.toFixed(2)} MB)`);
    expect(growthMb).toBeLessThan(3);
    expect(worker.child.exitCode).toBeNull();
  }, 240_000);
});
