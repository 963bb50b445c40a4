import { z } from 'zod';

/**
 * Which Redis ragscope talks to: one server, a Sentinel-watched primary, or a Cluster. Pure: the
 * connection factory (src/queue/connection.ts) turns it into ioredis clients.
 */
export interface HostPort {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      /** The master group name the sentinels monitor. */
      name: string;
      sentinelPassword?: string;
      username?: string;
      password?: string;
      tls: boolean;
    }
  | { kind: 'cluster'; nodes: HostPort[]; username?: string; password?: string; tls: boolean };

/** `host:port,host:port`; IPv6 hosts in brackets (`[::1]:6379`). */
export const hostPortList = z
  .string()
  .regex(/^((\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5})(,\s*(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5})*$/, {
    message: 'expected host:port pairs separated by commas, e.g. 10.0.0.1:26379,10.0.0.2:26379',
  })
  .transform((value) =>
    value.split(',').map((entry): HostPort => {
      const trimmed = entry.trim();
      const colon = trimmed.lastIndexOf(':');
      return { host: trimmed.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(trimmed.slice(colon + 1)) };
    }),
  )
  .refine((nodes) => nodes.every((node) => node.port >= 1 && node.port <= 65535), { message: 'ports must be 1-65535' });

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** BullMQ's own default prefix, so Bull Board and plain BullMQ scripts see the queues. */
export const DEFAULT_QUEUE_PREFIX = 'bull';

export interface RedisSettings {
  url?: string;
  sentinels?: HostPort[];
  sentinelName?: string;
  sentinelPassword?: string;
  clusterNodes?: HostPort[];
  username?: string;
  password?: string;
  tls: boolean;
}

/**
 * The target the settings describe, or the problems that stop start-up (each naming its variables).
 * Exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES may be set; none = the default URL.
 */
export function resolveRedisTarget(settings: RedisSettings): { target: RedisTarget; problems: string[] } {
  const problems: string[] = [];
  const chosen = [
    settings.url !== undefined && 'REDIS_URL',
    settings.sentinels !== undefined && 'REDIS_SENTINELS',
    settings.clusterNodes !== undefined && 'REDIS_CLUSTER_NODES',
  ].filter((name): name is string => Boolean(name));
  if (chosen.length > 1) {
    problems.push(`${chosen.join(' and ')} are set together: set only one of REDIS_URL (one server), REDIS_SENTINELS (Sentinel) or REDIS_CLUSTER_NODES (Cluster)`);
  }
  if (settings.sentinels && !settings.sentinelName) problems.push('REDIS_SENTINELS is set without REDIS_SENTINEL_NAME (the master group name the sentinels monitor)');
  if (settings.sentinelName && !settings.sentinels) problems.push('REDIS_SENTINEL_NAME is set without REDIS_SENTINELS');
  if (settings.sentinelPassword && !settings.sentinels) problems.push('REDIS_SENTINEL_PASSWORD is set without REDIS_SENTINELS');
  if (settings.url !== undefined || chosen.length === 0) {
    for (const [name, value] of [['REDIS_PASSWORD', settings.password], ['REDIS_USERNAME', settings.username]] as const) {
      if (value) problems.push(`${name} applies to Sentinel or Cluster; with REDIS_URL put the credentials in the URL (redis://user:password@host:port)`);
    }
    if (settings.tls) problems.push('REDIS_TLS applies to Sentinel or Cluster; with REDIS_URL use a rediss:// URL');
  }
  const credentials = { username: settings.username, password: settings.password, tls: settings.tls };
  if (settings.sentinels && settings.sentinelName) {
    return {
      target: { kind: 'sentinel', sentinels: settings.sentinels, name: settings.sentinelName, sentinelPassword: settings.sentinelPassword, ...credentials },
      problems,
    };
  }
  if (settings.clusterNodes) return { target: { kind: 'cluster', nodes: settings.clusterNodes, ...credentials }, problems };
  return { target: { kind: 'single', url: settings.url ?? DEFAULT_REDIS_URL }, problems };
}

/** Redis hashes only the part between the first `{` and the next `}`, when that part is not empty. */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * The BullMQ prefix to use. On a Cluster every key of a queue must share one slot, so the prefix must
 * be a hash tag: the default becomes `{bull}`; a user prefix without one is a start-up problem.
 */
export function resolveQueuePrefix(prefix: string, target: RedisTarget): { prefix: string; problem?: string } {
  if (target.kind !== 'cluster' || hashTagOf(prefix) !== undefined) return { prefix };
  if (prefix === DEFAULT_QUEUE_PREFIX) return { prefix: `{${prefix}}` };
  return {
    prefix,
    problem:
      `RAGSCOPE_QUEUE_PREFIX=${JSON.stringify(prefix)} has no hash tag, and on a Redis Cluster (REDIS_CLUSTER_NODES) every key of a queue must hash to one slot: ` +
      `use RAGSCOPE_QUEUE_PREFIX={${prefix}}`,
  };
}

/** Connection strings with their password replaced, for logs and `--help` output. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}

/** One line for logs and doctor: where Redis is, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  const list = (nodes: HostPort[]) => nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
  switch (target.kind) {
    case 'single':
      return redactUrl(target.url);
    case 'sentinel':
      return `Sentinel master "${target.name}" via ${list(target.sentinels)}${target.tls ? ' (TLS)' : ''}`;
    case 'cluster':
      return `Cluster via ${list(target.nodes)}${target.tls ? ' (TLS)' : ''}`;
  }
}
