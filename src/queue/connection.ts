import { Redis, type RedisOptions } from 'ioredis';
import { ServiceUnavailableError } from '../contracts/errors';
import { redactUrl } from '../config/config';

export const START_REDIS_HINT =
  'start one with `redis-server --daemonize yes --port 6379` (apt install redis-server, brew install redis) ' +
  'or `docker compose up -d redis`, or point REDIS_URL at a running server';

/**
 * `worker`: blocks on BullMQ commands and must survive Redis restarts, so requests wait for the
 * connection forever (BullMQ requires `maxRetriesPerRequest: null` there).
 * `producer`: a caller is waiting, so a command during an outage fails within seconds; the
 * connection itself keeps reconnecting, so a long-lived producer (serve) recovers by itself.
 */
export type ConnectionRole = 'worker' | 'producer';

export function createRedisConnection(redisUrl: string, role: ConnectionRole): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : {
          maxRetriesPerRequest: 1,
          connectTimeout: 3000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        };
  return new Redis(redisUrl, { ...options, lazyConnect: false });
}

/**
 * Fails with a readable ServiceUnavailableError unless Redis answers PING within `timeoutMs`.
 * Called before any BullMQ object exists, so nothing queues commands against a dead server.
 */
export async function assertRedisReachable(redisUrl: string, timeoutMs = 2000): Promise<void> {
  const probe = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // The PING below is the check; ioredis' own INFO-based one would only add a second wait.
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      // The socket error says why (ECONNREFUSED, ENOTFOUND, auth); connect() alone only says "closed".
      probe.once('error', reject);
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      probe
        .connect()
        .then(() => probe.ping())
        .then(() => resolve(), reject);
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ServiceUnavailableError(`cannot reach Redis at ${redactUrl(redisUrl)} (${reason})`, START_REDIS_HINT);
  } finally {
    clearTimeout(timer);
    probe.removeAllListeners('error');
    probe.on('error', () => undefined);
    probe.disconnect();
    // disconnect() half-closes the socket; a server that never answers would keep it (and this
    // process) open until the OS gives up, so the socket is destroyed outright.
    (probe as unknown as { stream?: { destroy(): void } }).stream?.destroy();
  }
}

/**
 * Redis' eviction policy, or undefined when CONFIG is not allowed (managed Redis often blocks it).
 * Anything but `noeviction` lets Redis delete queue keys under memory pressure: jobs vanish.
 */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } catch {
    return undefined;
  }
}

export async function warnUnlessNoEviction(redis: Redis, logger: { warn: (fields: object, message: string) => void }): Promise<void> {
  const policy = await readEvictionPolicy(redis);
  if (policy && policy !== 'noeviction') {
    logger.warn(
      { maxmemoryPolicy: policy, fix: 'CONFIG SET maxmemory-policy noeviction (and in redis.conf)' },
      `Redis maxmemory-policy is ${policy}: under memory pressure Redis may evict queue keys and lose jobs; use noeviction`,
    );
  }
}
