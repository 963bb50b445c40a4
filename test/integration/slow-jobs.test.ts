import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SlowJobRegistry } from '../../src/queue/slow-jobs';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { deletePrefix } from '../helpers/redis';

describe('SlowJobRegistry', () => {
  const prefix = uniquePrefix('slow-jobs');
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    await redis.quit();
    await deletePrefix(prefix);
  });

  it('remembers slow requests across workers, and answers from memory while none was slow', async () => {
    let nowMs = 1_000_000;
    const clock = () => nowMs;
    const workerA = new SlowJobRegistry(redis, prefix, clock);
    const workerB = new SlowJobRegistry(redis, prefix, clock);
    const slow = SlowJobRegistry.fingerprint('rag-query', { query: 'slow one', topK: 5 });
    const other = SlowJobRegistry.fingerprint('rag-query', { query: 'fast one', topK: 5 });
    expect(slow).not.toBe(other);

    expect(await workerB.wasSlow(slow)).toBe(false);
    await workerA.markSlow(slow, 2500);
    // B believed "nothing slow" a moment ago; within the cache window it keeps that belief.
    expect(await workerB.wasSlow(slow)).toBe(false);
    nowMs += 5_001;
    expect(await workerB.wasSlow(slow)).toBe(true);
    expect(await workerB.wasSlow(other)).toBe(false);
    // The worker that marked it knows at once.
    expect(await workerA.wasSlow(slow)).toBe(true);
    await workerA.forget(slow);
    expect(await workerA.wasSlow(slow)).toBe(false);
  });
});
