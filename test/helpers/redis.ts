import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_URL } from './env';

/** Deletes every key under a test's BullMQ prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

export interface TestQueue {
  connection: Redis;
  queue: Queue;
  events: QueueEvents;
  /** Closes the queue, its events and the connection, then deletes the prefix's keys. */
  close(): Promise<void>;
}

/** A plain BullMQ `rag-query` queue with its events under a test's prefix, as a foreign producer sees it. */
export async function openTestQueue(prefix: string): Promise<TestQueue> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('rag-query', { connection, prefix });
  // Tests wait on many jobs at once; each waitUntilFinished listens on the queue.
  queue.setMaxListeners(1000);
  const events = new QueueEvents('rag-query', { connection: connection.duplicate(), prefix });
  await events.waitUntilReady();
  return {
    connection,
    queue,
    events,
    close: async () => {
      await events.close();
      await queue.close();
      await connection.quit();
      await deletePrefix(prefix);
    },
  };
}
