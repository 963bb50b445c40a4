import { Cluster, Redis } from 'ioredis';
import type { RedisTarget } from '../config/config';
import type { RedisClient } from './connection';

/** One Redis server as doctor sees it. */
export interface RedisNodeFacts {
  address: string;
  role: 'primary' | 'replica';
  version?: string;
  /** undefined: CONFIG is not allowed (managed Redis often blocks it). */
  evictionPolicy?: string;
  appendOnly?: string;
  appendFsync?: string;
  savePolicy?: string;
  /** CONFIG or the connection failed; the reason. */
  error?: string;
}

export interface RedisTopology {
  /** One line: "single server", "Sentinel "mymaster": 3 of 3 sentinels answer, primary …", "Cluster: 3 primaries, 0 replicas". */
  summary: string;
  kind: RedisTarget['kind'];
  nodes: RedisNodeFacts[];
  /** Sentinel only: how many of the configured sentinels answered. */
  sentinelsAnswering?: number;
}

const PROBE_MS = 2000;

async function configValue(node: Redis, name: string): Promise<string | undefined> {
  try {
    return ((await node.call('CONFIG', 'GET', name)) as string[])[1];
  } catch {
    return undefined;
  }
}

async function nodeFacts(node: Redis, address: string, role: RedisNodeFacts['role']): Promise<RedisNodeFacts> {
  try {
    const version = /redis_version:(\S+)/.exec(await node.info('server'))?.[1];
    return {
      address,
      role,
      version,
      evictionPolicy: await configValue(node, 'maxmemory-policy'),
      appendOnly: await configValue(node, 'appendonly'),
      appendFsync: await configValue(node, 'appendfsync'),
      savePolicy: await configValue(node, 'save'),
    };
  } catch (error) {
    return { address, role, error: (error as Error).message };
  }
}

/** A short-lived connection to one server (a sentinel, a replica) that gives up instead of retrying. */
function directConnection(host: string, port: number, options: { password?: string; username?: string; tls: boolean }): Redis {
  const redis = new Redis({
    host,
    port,
    username: options.username,
    password: options.password,
    tls: options.tls ? {} : undefined,
    lazyConnect: true,
    connectTimeout: PROBE_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  return redis;
}

async function withDirect<T>(host: string, port: number, options: Parameters<typeof directConnection>[2], use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = directConnection(host, port, options);
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

function pairs(flat: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) record[flat[index]!] = flat[index + 1]!;
  return record;
}

/**
 * What doctor reports about Redis: the topology and, for every server it can reach, the settings
 * that decide whether jobs survive (eviction policy, persistence).
 */
export async function inspectRedisTopology(target: RedisTarget, client: RedisClient): Promise<RedisTopology> {
  if (target.kind === 'cluster' && client instanceof Cluster) {
    await client.ping();
    const describe = (node: Redis) => `${node.options.host}:${node.options.port}`;
    const primaries = client.nodes('master');
    const replicas = client.nodes('slave');
    const nodes = await Promise.all([
      ...primaries.map((node) => nodeFacts(node, describe(node), 'primary')),
      ...replicas.map((node) => nodeFacts(node, describe(node), 'replica')),
    ]);
    return { kind: 'cluster', summary: `Cluster: ${primaries.length} primaries, ${replicas.length} replicas`, nodes };
  }
  if (target.kind === 'sentinel' && client instanceof Redis) {
    const sentinelOptions = { password: target.sentinelPassword, tls: target.tls };
    const answers = await Promise.all(
      target.sentinels.map(({ host, port }) =>
        withDirect(host, port, sentinelOptions, async (sentinel) => ({
          primary: (await sentinel.call('SENTINEL', 'get-master-addr-by-name', target.name)) as [string, string] | null,
          replicas: ((await sentinel.call('SENTINEL', 'replicas', target.name)) as string[][]).map(pairs),
        })).catch(() => undefined),
      ),
    );
    const answering = answers.filter((answer) => answer !== undefined);
    const first = answering.find((answer) => answer.primary);
    const primaryAddress = first?.primary ? `${first.primary[0]}:${first.primary[1]}` : 'unknown';
    await client.ping();
    const credentials = { username: target.username, password: target.password, tls: target.tls };
    const replicas = (first?.replicas ?? []).filter((replica) => !/s_down|o_down|disconnected/.test(replica.flags ?? ''));
    const nodes = [
      await nodeFacts(client, primaryAddress, 'primary'),
      ...(await Promise.all(
        replicas.map((replica) =>
          withDirect(replica.ip!, Number(replica.port), credentials, (redis) => nodeFacts(redis, `${replica.ip}:${replica.port}`, 'replica')).catch(
            (error: Error): RedisNodeFacts => ({ address: `${replica.ip}:${replica.port}`, role: 'replica', error: error.message }),
          ),
        ),
      )),
    ];
    return {
      kind: 'sentinel',
      summary: `Sentinel "${target.name}": ${answering.length} of ${target.sentinels.length} sentinels answer, primary ${primaryAddress}, ${replicas.length} replica(s)`,
      nodes,
      sentinelsAnswering: answering.length,
    };
  }
  const single = client as Redis;
  return { kind: 'single', summary: 'single server', nodes: [await nodeFacts(single, `${single.options.host}:${single.options.port}`, 'primary')] };
}
