import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueueEvents } from '../../src/queue/queue-events';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { deletePrefix } from '../helpers/redis';

const prefix = uniquePrefix('queue-events');
const streamKey = `${prefix}:rag-query:events`;

/** The first `completed` event `events` emits within `ms`, or 'none'. */
function nextCompleted(events: QueueEvents, ms: number): Promise<{ jobId: string; returnvalue: unknown } | 'none'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('none'), ms);
    events.once('completed', (event) => {
      clearTimeout(timer);
      resolve(event as { jobId: string; returnvalue: unknown });
    });
  });
}

/** What a worker writes when a job completes (BullMQ's moveToFinished script), by hand. */
function addCompleted(writer: Redis, jobId: string): Promise<string | null> {
  return writer.xadd(streamKey, '*', 'event', 'completed', 'jobId', jobId, 'returnvalue', JSON.stringify({ jobId }));
}

describe('openQueueEvents', () => {
  let writer: Redis;
  const opened: Array<{ events: QueueEvents; connection: Redis }> = [];

  async function open(): Promise<QueueEvents> {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const events = await openQueueEvents('rag-query', connection, prefix);
    opened.push({ events, connection });
    await events.waitUntilReady();
    return events;
  }

  beforeAll(() => {
    writer = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    for (const { events, connection } of opened) {
      await events.close();
      await connection.quit();
    }
    await writer.quit();
    await deletePrefix(prefix);
  });

  it('delivers a job finishing just after it is ready, before its first read (a ?wait that read "active" heard of it)', async () => {
    const events = await open();
    // At once, as a waiter's state read goes out: BullMQ's own first XREAD is still a round trip away.
    const completed = nextCompleted(events, 5000);
    await addCompleted(writer, 'finished-in-the-gap');
    expect(await completed).toMatchObject({ jobId: 'finished-in-the-gap', returnvalue: { jobId: 'finished-in-the-gap' } });
  });

  it('starts at the newest event: what finished before it opened is not replayed', async () => {
    await addCompleted(writer, 'finished-before');
    const events = await open();
    const completed = nextCompleted(events, 5000);
    await addCompleted(writer, 'finished-after');
    expect(await completed).toMatchObject({ jobId: 'finished-after' });
  });
});
