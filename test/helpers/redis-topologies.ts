import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { requireTool } from './tools';

/**
 * Real Redis topologies started by the tests themselves: a Cluster of primaries, or a primary with a
 * replica watched by sentinels. Every server runs on free loopback ports in a temporary directory
 * and is killed (and the directory removed) by `stop()`.
 */

export interface RedisServerProcess {
  port: number;
  readonly child: ChildProcess;
  /** SIGKILL: a crash, no shutdown save. */
  kill(): void;
  /** Starts it again with the same arguments (as a supervisor would after a crash). */
  restart(): void;
}

const INSTALL_HINT = 'apt install redis-server (it brings redis-cli and sentinel mode)';

/** redis-server and redis-cli, or undefined outside CI when they are missing (tests then skip, saying why). */
export function redisBinaries(): { server: string; cli: string } | undefined {
  const server = requireTool('redis-server', INSTALL_HINT);
  const cli = requireTool('redis-cli', INSTALL_HINT);
  return server && cli ? { server, cli } : undefined;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port whose cluster-bus twin (port + 10000) is free too. Ports are drawn at random from a
 * range the OS does not hand out as ephemeral ports, so parallel test files rarely collide.
 */
export async function freeRedisPort(taken: Set<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port pair for redis-server');
}

export async function waitForPing(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startServer(binary: string, args: string[], port: number, logFile: string): RedisServerProcess {
  const launch = () => spawn(binary, [...args, '--logfile', logFile], { stdio: 'ignore' });
  let child = launch();
  return {
    port,
    get child() {
      return child;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    restart: () => {
      child = launch();
    },
  };
}

const BASE_ARGS = ['--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--maxmemory-policy', 'noeviction'];

export interface TestRedis {
  port: number;
  /** Value for REDIS_URL. */
  url: string;
  server: RedisServerProcess;
  dir: string;
  stop(): void;
}

/**
 * One standalone redis-server with the settings of a Cluster node (no persistence, noeviction), so
 * a comparison of the two topologies differs in the topology alone.
 */
export async function startSingleRedis(binaries: { server: string; cli: string }): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragscope-single-'));
  const port = await freeRedisPort();
  const server = startServer(
    binaries.server,
    ['--port', String(port), ...BASE_ARGS, '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`],
    port,
    path.join(dir, `redis-${port}.log`),
  );
  const stop = () => {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(port);
  } catch (error) {
    stop();
    throw error;
  }
  return { port, url: `redis://127.0.0.1:${port}`, server, dir, stop };
}

export interface TestCluster {
  nodes: { host: string; port: number }[];
  /** Value for REDIS_CLUSTER_NODES. */
  seeds: string;
  servers: RedisServerProcess[];
  dir: string;
  stop(): void;
}

/** A Redis Cluster of `primaries` primaries (no replicas), created with `redis-cli --cluster create`. */
export async function startCluster(binaries: { server: string; cli: string }, primaries = 3): Promise<TestCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragscope-cluster-'));
  const taken = new Set<number>();
  const servers: RedisServerProcess[] = [];
  const stop = () => {
    for (const server of servers) server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let index = 0; index < primaries; index += 1) {
      const port = await freeRedisPort(taken);
      servers.push(
        startServer(
          binaries.server,
          ['--port', String(port), ...BASE_ARGS, '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`,
            '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '3000'],
          port,
          path.join(dir, `redis-${port}.log`),
        ),
      );
    }
    await Promise.all(servers.map((server) => waitForPing(server.port)));
    const create = spawnSync(binaries.cli, ['--cluster', 'create', ...servers.map((server) => `127.0.0.1:${server.port}`), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitForClusterOk(servers.map((server) => server.port));
    const nodes = servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
    return { nodes, seeds: nodes.map((node) => `${node.host}:${node.port}`).join(','), servers, dir, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

async function waitForClusterOk(ports: number[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      ports.map(async (port) => {
        const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => undefined);
        try {
          return /cluster_state:ok/.test((await redis.call('CLUSTER', 'INFO')) as string);
        } catch {
          return false;
        } finally {
          redis.disconnect();
        }
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the cluster did not reach cluster_state:ok');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface SentinelGroup {
  name: string;
  primary: RedisServerProcess;
  replica: RedisServerProcess;
  sentinels: RedisServerProcess[];
  /** Value for REDIS_SENTINELS. */
  sentinelList: string;
  dir: string;
  /** The address the sentinels currently name as primary. */
  currentPrimaryPort(): Promise<number | undefined>;
  stop(): void;
}

/**
 * The documented safe settings: the primary refuses writes unless a replica is connected and
 * current (min-replicas-to-write), and both servers fsync every write to their AOF. The producer's
 * WAIT (RAGSCOPE_ENQUEUE_WAIT_REPLICAS) makes an enqueue acknowledged only once a replica has it.
 */
export const SAFE_REDIS_ARGS = ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '10', '--appendonly', 'yes', '--appendfsync', 'always'];

/** One primary, one replica and three sentinels (quorum 2) watching them as `mymaster`. */
export async function startSentinelGroup(binaries: { server: string; cli: string }, options: { safe?: boolean } = {}): Promise<SentinelGroup> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragscope-sentinel-'));
  const taken = new Set<number>();
  const name = 'mymaster';
  const all: RedisServerProcess[] = [];
  const stop = () => {
    for (const server of all) server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const dataArgs = (port: number) => [
      '--port', String(port), ...BASE_ARGS, '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--appendfilename', `aof-${port}.aof`,
      '--appenddirname', `aof-${port}`,
      ...(options.safe ? SAFE_REDIS_ARGS : ['--appendonly', 'yes', '--appendfsync', 'everysec']),
    ];
    const primaryPort = await freeRedisPort(taken);
    const primary = startServer(binaries.server, dataArgs(primaryPort), primaryPort, path.join(dir, `redis-${primaryPort}.log`));
    all.push(primary);
    await waitForPing(primaryPort);
    const replicaPort = await freeRedisPort(taken);
    const replica = startServer(binaries.server, [...dataArgs(replicaPort), '--replicaof', '127.0.0.1', String(primaryPort)], replicaPort, path.join(dir, `redis-${replicaPort}.log`));
    all.push(replica);
    await waitForPing(replicaPort);
    await waitForReplication(primaryPort);
    const sentinels: RedisServerProcess[] = [];
    for (let index = 0; index < 3; index += 1) {
      const port = await freeRedisPort(taken);
      const conf = path.join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = startServer(binaries.server, [conf, '--sentinel'], port, path.join(dir, `sentinel-${port}.log`));
      sentinels.push(sentinel);
      all.push(sentinel);
    }
    await Promise.all(sentinels.map((sentinel) => waitForPing(sentinel.port)));
    const group: SentinelGroup = {
      name,
      primary,
      replica,
      sentinels,
      sentinelList: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
      dir,
      currentPrimaryPort: async () => {
        for (const sentinel of sentinels) {
          const redis = new Redis({ port: sentinel.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
          redis.on('error', () => undefined);
          try {
            await redis.connect();
            const reply = (await redis.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
            if (reply) return Number(reply[1]);
          } catch {
            // ask the next sentinel
          } finally {
            redis.disconnect();
          }
        }
        return undefined;
      },
      stop,
    };
    await waitForSentinelsToKnowTheReplica(group);
    return group;
  } catch (error) {
    stop();
    throw error;
  }
}

async function waitForReplication(primaryPort: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const redis = new Redis({ port: primaryPort, host: '127.0.0.1' });
  try {
    for (;;) {
      const info = await redis.info('replication');
      if (/slave0:.*state=online/.test(info)) return;
      if (Date.now() > deadline) throw new Error(`the replica did not come online: ${info}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    redis.disconnect();
  }
}

/** Sentinels learn about replicas from the primary's INFO every 10 s; a failover before that has nothing to promote. */
async function waitForSentinelsToKnowTheReplica(group: SentinelGroup, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(
      group.sentinels.map(async (sentinel) => {
        const redis = new Redis({ port: sentinel.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => undefined);
        try {
          const replicas = (await redis.call('SENTINEL', 'replicas', group.name)) as unknown[];
          const others = (await redis.call('SENTINEL', 'sentinels', group.name)) as unknown[];
          return replicas.length >= 1 && others.length >= 2;
        } catch {
          return false;
        } finally {
          redis.disconnect();
        }
      }),
    );
    if (counts.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the sentinels did not discover the replica and each other');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
