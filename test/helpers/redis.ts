import { spawn, type ChildProcess } from 'node:child_process';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_URL } from './env';
import { waitFor } from './processes';

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

/**
 * A redis-server of a test's own that it can stop and start again: for outages and restarts.
 * With `dir`, AOF is on (queued jobs survive a restart); without, nothing is persisted.
 */
export class PrivateRedis {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    private readonly dir?: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir] : ['--appendonly', 'no'];
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
    await waitFor(async () => {
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      const ok = await probe.connect().then(() => probe.ping(), () => undefined);
      probe.disconnect();
      return ok ? true : undefined;
    }, 10_000, 'redis-server to answer');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}
