import { Redis, type RedisOptions } from 'ioredis';
import { ServiceUnavailableError } from '../errors';
import { redactUrl } from '../config/config';

export const START_REDIS_HINT =
  'start one with `redis-server --daemonize yes --port 6379` (apt install redis-server, brew install redis) ' +
  'or `docker compose up -d redis`, or point REDIS_URL at a running server';

/**
 * `worker`: blocks on BullMQ commands and must survive Redis restarts, so requests wait for the
 * connection forever (BullMQ requires `maxRetriesPerRequest: null` there).
 * `producer`: a caller is waiting, so a dead Redis must surface as an error within seconds.
 */
export type ConnectionRole = 'worker' | 'producer';

export function createRedisConnection(redisUrl: string, role: ConnectionRole): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : {
          maxRetriesPerRequest: 1,
          connectTimeout: 3000,
          retryStrategy: (attempt) => (attempt > 3 ? null : Math.min(attempt * 200, 1000)),
        };
  return new Redis(redisUrl, { ...options, lazyConnect: false });
}

/**
 * Fails with a readable ServiceUnavailableError unless Redis answers PING within `timeoutMs`.
 * Called before any BullMQ object exists, so nothing queues commands against a dead server.
 */
export async function assertRedisReachable(redisUrl: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with a bare "Connection is closed"; the socket error says why.
  let socketError: Error | undefined;
  probe.on('error', (error: Error) => (socketError ??= error));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    const reason = (socketError ?? (error instanceof Error ? error : new Error(String(error)))).message;
    throw new ServiceUnavailableError(`cannot reach Redis at ${redactUrl(redisUrl)} (${reason})`, START_REDIS_HINT);
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}
