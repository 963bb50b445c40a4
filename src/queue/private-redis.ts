import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { DEFAULT_REDIS_URL } from '../config/config';
import { ServiceUnavailableError } from '../contracts/errors';
import { assertRedisReachable } from './connection';

export interface RedisForDemo {
  /** Absent when the user configured Sentinel or Cluster: the demo uses that as configured. */
  url?: string;
  /** Set when this process started its own server; stops it. */
  stop?: () => void;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Redis for the demo: REDIS_URL if set, else the default port if something answers there, else a
 * private, non-persistent redis-server from PATH on a free loopback port, stopped on exit.
 */
export async function redisForDemo(
  env: NodeJS.ProcessEnv = process.env,
  options: { defaultUrl?: string; redisServer?: string } = {},
): Promise<RedisForDemo> {
  if (env.REDIS_URL) return { url: env.REDIS_URL };
  if (env.REDIS_SENTINELS || env.REDIS_CLUSTER_NODES) return {};
  const defaultUrl = options.defaultUrl ?? DEFAULT_REDIS_URL;
  const redisServer = options.redisServer ?? 'redis-server';
  try {
    await assertRedisReachable({ kind: 'single', url: defaultUrl }, 1000);
    return { url: defaultUrl };
  } catch {
    // Nothing on the default port: start a private one below.
  }
  if (spawnSync(redisServer, ['--version'], { stdio: 'ignore' }).error) {
    throw new ServiceUnavailableError(
      `no Redis answers at ${defaultUrl} and there is no ${redisServer} on PATH to start a private one`,
      'install one (apt install redis-server, brew install redis) or run `docker compose up -d redis`, or set REDIS_URL',
    );
  }
  const port = await freeLoopbackPort();
  const child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('exit', stop);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await assertRedisReachable({ kind: 'single', url }, 500);
      return { url, stop };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        stop();
        throw new ServiceUnavailableError(`the private redis-server did not start (${(error as Error).message})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
