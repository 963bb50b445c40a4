import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { connectionOptions, isRedisUnavailable, redisUnavailableError } from '../../src/queue/connection';

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('connectionOptions', () => {
  it('gives workers connections that wait for Redis forever and producers ones that fail within seconds', () => {
    const target = loadConfig({}).redis;
    expect(connectionOptions(target, 'worker').options).toMatchObject({ maxRetriesPerRequest: null });
    expect(connectionOptions(target, 'producer').options).toMatchObject({ maxRetriesPerRequest: 1, connectTimeout: 3000 });
  });

  it('asks the sentinels for the primary of the named group, with both passwords and TLS', () => {
    const target = loadConfig({ REDIS_SENTINELS: 'a:26379,b:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'sp', REDIS_PASSWORD: 'rp', REDIS_TLS: '1' }).redis;
    expect(connectionOptions(target, 'worker').options).toMatchObject({
      sentinels: [{ host: 'a', port: 26379 }, { host: 'b', port: 26379 }],
      name: 'mymaster',
      sentinelPassword: 'sp',
      password: 'rp',
      tls: {},
      enableTLSForSentinelMode: true,
    });
  });

  it('gives a Cluster its seed nodes, node options and patience with moving slots', () => {
    const target = loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_PASSWORD: 'rp' }).redis;
    const resolved = connectionOptions(target, 'worker');
    expect(resolved).toMatchObject({
      nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }],
      options: { redisOptions: { password: 'rp', maxRetriesPerRequest: null }, retryDelayOnFailover: 200 },
    });
  });

  it('reconnects on READONLY (an old primary back as a replica) and on nothing else', () => {
    const reconnect = (connectionOptions(loadConfig({}).redis, 'worker').options as { reconnectOnError: (error: Error) => unknown }).reconnectOnError;
    expect(reconnect(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(reconnect(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
  });
});

describe('isRedisUnavailable', () => {
  it.each<[string, Error, boolean]>([
    ['a command out of retries', named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 1).'), true],
    ['a closed connection', new Error('Connection is closed.'), true],
    ['a refused connection', new Error('connect ECONNREFUSED 127.0.0.1:6379'), true],
    ['a replica answering a write', new Error("READONLY You can't write against a read only replica."), true],
    ['a primary without its replicas', new Error('NOREPLICAS Not enough good replicas to write.'), true],
    ['a cluster moving slots', new Error('CLUSTERDOWN The cluster is down'), true],
    ['a transaction refused for NOREPLICAS', Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), { previousErrors: [new Error('NOREPLICAS Not enough good replicas to write.')] }), true],
    ['a transaction refused for a bad command', Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), { previousErrors: [new Error('ERR wrong number of arguments')] }), false],
    ['a type error', new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), false],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')"), false],
  ])('%s → %s', (_label, error, expected) => {
    expect(isRedisUnavailable(error)).toBe(expected);
  });

  it('turns into a retryable error that names where Redis is, without the password', () => {
    const error = redisUnavailableError(loadConfig({ REDIS_URL: 'rediss://:s3cret@cache:6380' }).redis, new Error('Connection is closed.'));
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe('Redis at rediss://:***@cache:6380 is unavailable or failing over (Connection is closed.)');
    expect(error.hint).toMatch(/retry/);
  });
});
