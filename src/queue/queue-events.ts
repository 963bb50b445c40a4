import { QueueEvents, QueueKeys } from 'bullmq';
import type { RedisClient } from './connection';

/**
 * A QueueEvents that delivers every event of `queueName` added after this resolves.
 *
 * BullMQ's QueueEvents reads from `$` (whatever comes after its first XREAD), and that first XREAD
 * goes out a round trip after the client is ready (it names the connection first). A caller that
 * reads a job's state as soon as the QueueEvents is ready can see the job still running while the
 * event of it finishing lands before that XREAD: neither says it finished, and a `?wait` request
 * timed out with 202 on a job that had completed in time. Starting from the stream's newest entry,
 * read before the QueueEvents exists, closes that gap.
 */
export async function openQueueEvents(queueName: string, connection: RedisClient, prefix: string): Promise<QueueEvents> {
  const [newest] = await connection.xrevrange(new QueueKeys(prefix).toKey(queueName, 'events'), '+', '-', 'COUNT', 1);
  // An empty stream: every entry it will get comes after this read.
  return new QueueEvents(queueName, { connection, prefix, lastEventId: newest?.[0] ?? '0-0' });
}
