import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { describeRedisTarget, type RedisTarget } from '../config/config';
import { ServiceUnavailableError } from '../contracts/errors';

export const START_REDIS_HINT =
  'start one with `redis-server --daemonize yes --port 6379` (apt install redis-server, brew install redis) ' +
  'or `docker compose up -d redis`, or point REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES) at a running one';

/** What every ragscope process talks to Redis through: one server or Sentinel (Redis), or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * `worker`: blocks on BullMQ commands and must survive Redis restarts and failovers, so requests wait
 * for the connection forever (BullMQ requires `maxRetriesPerRequest: null` there).
 * `producer`: a caller is waiting, so a command during an outage or a failover fails within seconds;
 * the connection itself keeps reconnecting, so a long-lived producer (serve) recovers by itself.
 */
export type ConnectionRole = 'worker' | 'producer';

/**
 * After a failover the old primary may come back as a replica; a connection still pointed at it gets
 * READONLY. Reconnecting (and resending the command) reaches the new primary, which Sentinel names.
 */
function reconnectOnReadonly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/** Per-process tuning of a connection beyond its role. */
export interface ConnectionTuning {
  /**
   * Producer commands only: a Redis that accepts the connection but does not answer (paused,
   * swapping, partitioned) fails the command after this long instead of holding the caller. A
   * stopped Redis is known earlier, from the connection's state (isRedisReady).
   */
  commandTimeoutMs?: number;
}

function roleOptions(role: ConnectionRole, tuning: ConnectionTuning): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, connectTimeout: 3000, ...(tuning.commandTimeoutMs ? { commandTimeout: tuning.commandTimeoutMs } : {}) };
}

const PRODUCER_RETRY = (attempt: number): number => Math.min(attempt * 200, 2000);

/** ioredis options for a target, minus role-specific ones; pure, so the mapping is unit-tested. */
export function connectionOptions(
  target: RedisTarget,
  role: ConnectionRole,
  tuning: ConnectionTuning = {},
): { url?: string; options: RedisOptions } | { nodes: { host: string; port: number }[]; options: ClusterOptions } {
  const base: RedisOptions = { ...roleOptions(role, tuning), reconnectOnError: reconnectOnReadonly };
  if (role === 'producer') base.retryStrategy = PRODUCER_RETRY;
  switch (target.kind) {
    case 'single':
      return { url: target.url, options: base };
    case 'sentinel':
      return {
        options: {
          ...base,
          sentinels: target.sentinels,
          name: target.name,
          sentinelPassword: target.sentinelPassword,
          username: target.username,
          password: target.password,
          tls: target.tls ? {} : undefined,
          enableTLSForSentinelMode: target.tls,
          // ioredis' failoverDetector (subscribing to +switch-master) is left off: with ioredis 6.0.0 a
          // connection that followed a failover leaves its sentinel subscribers reconnecting forever
          // after quit(). Without it the new primary is found when the old one's socket closes, which
          // the failover test measures.
        },
      };
    case 'cluster': {
      const { retryStrategy: _unused, ...nodeOptions } = base;
      return {
        nodes: target.nodes,
        options: {
          redisOptions: { ...nodeOptions, username: target.username, password: target.password, tls: target.tls ? {} : undefined },
          clusterRetryStrategy: role === 'producer' ? PRODUCER_RETRY : (attempt) => Math.min(100 + attempt * 50, 2000),
          // A failover moves slots: wait for the new owner rather than failing at once.
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 300,
          retryDelayOnTryAgain: 100,
        },
      };
    }
  }
}

export function createRedisConnection(target: RedisTarget, role: ConnectionRole, tuning: ConnectionTuning = {}): RedisClient {
  const resolved = connectionOptions(target, role, tuning);
  if ('nodes' in resolved) return new Cluster(resolved.nodes, { ...resolved.options, lazyConnect: false });
  return resolved.url ? new Redis(resolved.url, { ...resolved.options, lazyConnect: false }) : new Redis({ ...resolved.options, lazyConnect: false });
}

/**
 * Fails with a readable ServiceUnavailableError unless Redis (the Sentinel-named primary, or the
 * Cluster with its slots) answers PING within `timeoutMs`. Called before any BullMQ object exists,
 * so nothing queues commands against a dead server.
 */
export async function assertRedisReachable(target: RedisTarget, timeoutMs = 2000): Promise<void> {
  const probeOptions: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // The PING below is the check; ioredis' own INFO-based one would only add a second wait.
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  };
  const resolved = connectionOptions(target, 'producer');
  const probe: RedisClient =
    'nodes' in resolved
      ? new Cluster(resolved.nodes, {
          ...resolved.options,
          lazyConnect: true,
          enableOfflineQueue: false,
          enableReadyCheck: true,
          clusterRetryStrategy: () => null,
          redisOptions: { ...resolved.options.redisOptions, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableReadyCheck: false },
        })
      : resolved.url
        ? new Redis(resolved.url, { ...resolved.options, ...probeOptions })
        : new Redis({ ...resolved.options, ...probeOptions, sentinelRetryStrategy: () => null });
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
    throw new ServiceUnavailableError(`cannot reach Redis at ${describeRedisTarget(target)} (${reason})`, START_REDIS_HINT, 'redis');
  } finally {
    clearTimeout(timer);
    probe.removeAllListeners('error');
    probe.on('error', () => undefined);
    probe.disconnect();
    // disconnect() half-closes the socket; a server that never answers would keep it (and this
    // process) open until the OS gives up, so the socket is destroyed outright.
    if (probe instanceof Redis) (probe as unknown as { stream?: { destroy(): void } }).stream?.destroy();
  }
}

/** Every server a client reaches: the one server, or each Cluster node (primaries and replicas). */
export function reachableNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('all') : [client];
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

export async function warnUnlessNoEviction(client: RedisClient, logger: { warn: (fields: object, message: string) => void }): Promise<void> {
  for (const node of reachableNodes(client)) {
    const policy = await readEvictionPolicy(node);
    if (policy && policy !== 'noeviction') {
      logger.warn(
        { maxmemoryPolicy: policy, node: `${node.options.host}:${node.options.port}`, fix: 'CONFIG SET maxmemory-policy noeviction (and in redis.conf)' },
        `Redis maxmemory-policy is ${policy}: under memory pressure Redis may evict queue keys and lose jobs; use noeviction`,
      );
    }
  }
}

/**
 * A command that failed because Redis is down, failing over, or moving slots: the request may be
 * retried once Redis is back (seconds, for a Sentinel or Cluster failover). Anything else is not ours
 * to reinterpret.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // A MULTI refused as a whole carries why each of its commands was refused (e.g. NOREPLICAS).
  const previous = (error as Error & { previousErrors?: unknown[] }).previousErrors;
  if (error.message.startsWith('EXECABORT') && Array.isArray(previous)) return previous.some(isRedisUnavailable);
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /^(READONLY|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS)\b/.test(error.message) ||
    /Connection is closed|Command timed out|Stream isn't writeable|enableOfflineQueue options is false|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|All sentinels are unreachable|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready/.test(
      error.message,
    )
  );
}

/** The error a producer's caller sees while Redis is unavailable: retryable, 503 from serve. */
export function redisUnavailableError(target: RedisTarget, cause: unknown): ServiceUnavailableError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ServiceUnavailableError(
    `Redis at ${describeRedisTarget(target)} is unavailable or failing over (${reason})`,
    'retry in a few seconds: workers and the scheduler resume by themselves once Redis is back',
    'redis',
  );
}

/** Whether `client` can take a command now: a stopped, restarting or failing-over Redis is known at once, without a round trip. */
export function isRedisReady(client: RedisClient): boolean {
  return client.status === 'ready';
}

/**
 * Closes `client` without waiting on a Redis that is gone: QUIT when the connection is up (bounded;
 * pending replies still arrive), an immediate disconnect otherwise. A QUIT queued behind a
 * reconnect would wait for Redis to come back.
 */
export async function closeRedis(client: RedisClient, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return;
  if (!isRedisReady(client)) {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if ((client.status as string) !== 'end') client.disconnect();
}

/** A second connection to the same target with the same options (e.g. for pub/sub, which blocks a connection). */
export function duplicateConnection(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate() : client.duplicate();
}
