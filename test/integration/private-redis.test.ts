import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../src/contracts/errors';
import { redisForDemo } from '../../src/queue/private-redis';
import { freePort } from '../helpers/env';

describe('Redis for the demo', () => {
  it('uses REDIS_URL when set, without probing', async () => {
    expect(await redisForDemo({ REDIS_URL: 'redis://elsewhere:6379' })).toEqual({ url: 'redis://elsewhere:6379' });
  });

  it('starts a private, non-persistent redis-server on a free port when nothing answers, and stops it', async () => {
    const redis = await redisForDemo({}, { defaultUrl: `redis://127.0.0.1:${await freePort()}` });
    expect(redis.stop).toBeDefined();
    const client = new Redis(redis.url!);
    try {
      expect(await client.ping()).toBe('PONG');
      expect(((await client.call('CONFIG', 'GET', 'appendonly')) as string[])[1]).toBe('no');
      expect(((await client.call('CONFIG', 'GET', 'bind')) as string[])[1]).toBe('127.0.0.1');
    } finally {
      client.disconnect();
      redis.stop!();
    }
  });

  it('says how to get Redis when there is no redis-server either', async () => {
    const attempt = redisForDemo({}, { defaultUrl: `redis://127.0.0.1:${await freePort()}`, redisServer: 'redis-server-that-does-not-exist' });
    await expect(attempt).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(attempt).rejects.toMatchObject({ hint: expect.stringMatching(/apt install redis-server.*brew install redis.*docker compose up -d redis/) });
  });
});
