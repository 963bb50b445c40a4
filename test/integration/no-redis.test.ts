import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/processes';
import { freePort } from '../helpers/env';

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

  it('enqueue exits non-zero within 5 s, saying how to start Redis, when nothing listens', async () => {
    const run = await runCli(['enqueue', 'query', 'hello', '-u', 'alice', '--wait'], {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      DD_TRACE_ENABLED: 'false',
    });
    expect(run.code).toBe(1);
    expect(run.durationMs).toBeLessThan(5000);
    expect(run.stderr).toMatch(/error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    expect(run.stderr).toMatch(/hint: start one with `redis-server/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('enqueue exits non-zero within 5 s when Redis accepts but never answers', async () => {
    const run = await runCli(['enqueue', 'query', 'hello', '-u', 'alice'], {
      REDIS_URL: `redis://127.0.0.1:${silentPort}`,
      DD_TRACE_ENABLED: 'false',
    });
    expect(run.code).toBe(1);
    expect(run.durationMs).toBeLessThan(5000);
    expect(run.stderr).toMatch(/cannot reach Redis/);
  });

  it('a bad REDIS_URL is a configuration error naming the variable', async () => {
    const run = await runCli(['enqueue', 'query', 'hello', '-u', 'alice'], { REDIS_URL: 'localhost:6379' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/REDIS_URL="localhost:6379": expected a redis:\/\/ or rediss:\/\/ URL/);
  });
});
