import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/contracts/queues';
import { freePort, uniquePrefix } from '../helpers/env';
import { startLongRunning, type WorkerProcess } from '../helpers/processes';
import { PrivateRedis } from '../helpers/redis';

const CAP = 200;
const CONCURRENCY = 16;
/** Requests sent after the cap was reached; before the fix each one was a job in Redis (~1.1 KB). */
const AFTER_CAP = 2000;
/** Bound on the first phase: without backpressure no 429 ever comes. */
const MAX_REQUESTS_TO_CAP = 5 * CAP;

const QUERY = JSON.stringify({ query: 'how much can the queue hold?', user_id: 'flood' });

/**
 * A bounded flood of POST /query over loopback against `ragscope serve` with no worker running
 * (issue 16, finding 4: four 20-second bursts left 22,231 jobs waiting and Redis grew from 2.4 to
 * 27.6 MB without a 429). With RAGSCOPE_MAX_WAITING the waiting list stops at the cap, every
 * request past it is a 429, and Redis' memory stays flat however many more arrive.
 */
describe('flood of POST /query', () => {
  const prefix = uniquePrefix('flood');
  let redis: PrivateRedis;
  let client: Redis;
  let serve: WorkerProcess;
  let base: string;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serve = await startLongRunning(
      ['serve', '--port', String(port)],
      // Rate limiting off: this test is about the queue's cap, which holds whatever the clients.
      { REDIS_URL: redis.url, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_MAX_WAITING: String(CAP), RAGSCOPE_RATE_LIMIT_MAX: '0', RAGSCOPE_LOG_LEVEL: 'warn' },
      'ragscope serve on',
    );
  });

  afterAll(async () => {
    await serve?.stop();
    await client?.quit();
    await redis?.stop();
  });

  const usedMemory = async (): Promise<number> => Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))![1]);

  /** Sends requests from CONCURRENCY loopback clients until `more` says stop; counts statuses. */
  const flood = async (more: (sent: number, statuses: Map<number, number>) => boolean): Promise<Map<number, number>> => {
    const statuses = new Map<number, number>();
    let sent = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (more(sent, statuses)) {
          sent++;
          const response = await fetch(`${base}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY });
          const body = (await response.json()) as { error?: string };
          if (response.status === 429) {
            expect(body.error).toMatch(/^queue rag-query is full/);
            expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
          }
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        }
      }),
    );
    return statuses;
  };

  it(`stops at ${CAP} waiting jobs with 429s, and Redis memory stays flat under ${AFTER_CAP} more requests`, async () => {
    const waiting = new Queue(QUEUES.ragQuery, { connection: client, prefix });
    const atStart = await usedMemory();
    const toCap = await flood((sent, statuses) => !statuses.has(429) && sent < MAX_REQUESTS_TO_CAP);
    const accepted = toCap.get(202) ?? 0;
    expect(toCap.get(429), `statuses before the cap: ${JSON.stringify(Object.fromEntries(toCap))}`).toBeGreaterThan(0);
    // Concurrent requests may share one count: the cap is overshot by fewer than the clients in flight.
    expect(accepted).toBeGreaterThanOrEqual(CAP);
    expect(accepted).toBeLessThan(CAP + CONCURRENCY);
    const atCap = await usedMemory();

    const afterCap = await flood((sent) => sent < AFTER_CAP);
    const atEnd = await usedMemory();
    console.log(
      `flood: ${accepted} accepted then ${JSON.stringify(Object.fromEntries(afterCap))} for ${AFTER_CAP} more; ` +
        `Redis used_memory ${atStart} → ${atCap} bytes at the cap (${Math.round((atCap - atStart) / accepted)} B per job) → ${atEnd} after (${atEnd - atCap >= 0 ? '+' : ''}${atEnd - atCap} B)`,
    );
    expect(afterCap.get(429)).toBe(AFTER_CAP);
    expect(await waiting.getWaitingCount()).toBe(accepted);
    // Flat: less than a quarter of what the same number of accepted jobs took on the way to the cap.
    expect(atEnd - atCap).toBeLessThan(((atCap - atStart) / accepted) * AFTER_CAP * 0.25);
    await waiting.close();
  }, 300_000);
});
