import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/processes';
import { freePort } from '../helpers/env';

/**
 * Without its fail-fast settings ioredis retries a dead Redis forever, so a CLI run would hang. The
 * bound below tells "gives up" from "hangs"; it is not a speed claim (the process start alone takes
 * seconds on a loaded machine; on a quiet one these runs end in 1-3 s).
 */
const GIVES_UP_WITHIN_MS = 30_000;

describe('no Redis', () => {
  let silentServer: Server;
  let silentPort: number;

  beforeAll(async () => {
    // Accepts connections and never answers: a hung Redis, not a refused one.
    silentServer = createServer(() => undefined);
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    silentPort = (silentServer.address() as { port: number }).port;
  });

  afterAll(async () => {
    silentServer.close();
  });

  it('enqueue gives up with exit 1, saying how to start Redis, when nothing listens', async () => {
    const run = await runCli(['enqueue', 'query', 'hello', '-u', 'alice', '--wait'], {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      DD_TRACE_ENABLED: 'false',
    });
    expect(run.code).toBe(1);
    expect(run.durationMs).toBeLessThan(GIVES_UP_WITHIN_MS);
    expect(run.stderr).toMatch(/error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    expect(run.stderr).toMatch(/hint: start one with `redis-server/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('enqueue gives up with exit 1 when Redis accepts but never answers', async () => {
    const run = await runCli(['enqueue', 'query', 'hello', '-u', 'alice'], {
      REDIS_URL: `redis://127.0.0.1:${silentPort}`,
      DD_TRACE_ENABLED: 'false',
    });
    expect(run.code).toBe(1);
    expect(run.durationMs).toBeLessThan(GIVES_UP_WITHIN_MS);
    expect(run.stderr).toMatch(/cannot reach Redis/);
  });

  it('a bad REDIS_URL is a configuration error naming the variable', async () => {
    const run = await runCli(['enqueue', 'query', 'hello', '-u', 'alice'], { REDIS_URL: 'localhost:6379' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/REDIS_URL="localhost:6379": expected a redis:\/\/ or rediss:\/\/ URL/);
  });
});
