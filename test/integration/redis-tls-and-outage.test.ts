import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, uniquePrefix } from '../helpers/env';
import { runCli, startLongRunning, startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { redisBinaries, waitForPing, type RedisServerProcess } from '../helpers/redis-topologies';
import { requireTool } from '../helpers/tools';

const BINARIES = redisBinaries();
const OPENSSL = requireTool('openssl', 'apt install openssl');
const PASSWORD = 'tls-s3cret-password';

function startRedis(binary: string, args: string[], port: number): RedisServerProcess {
  let child = spawn(binary, args, { stdio: 'ignore' });
  return {
    port,
    get child() {
      return child;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    restart: () => {
      child = spawn(binary, args, { stdio: 'ignore' });
    },
  };
}

/** A self-signed certificate for 127.0.0.1, trusted by the child processes through NODE_EXTRA_CA_CERTS. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'redis.crt');
  const key = path.join(dir, 'redis.key');
  const config = path.join(dir, 'openssl.cnf');
  writeFileSync(config, '[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=127.0.0.1\n[ext]\nsubjectAltName=IP:127.0.0.1\nbasicConstraints=CA:TRUE\n');
  execFileSync(OPENSSL!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', cert, '-config', config], { stdio: 'ignore' });
  return { cert, key };
}

describe.skipIf(!BINARIES || !OPENSSL)('rediss:// with a password', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragscope-tls-'));
  const processes: WorkerProcess[] = [];
  let redis: RedisServerProcess | undefined;
  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a job over TLS, and the password appears in no output', async () => {
    const { cert, key } = makeCertificate(dir);
    const port = await freePort();
    redis = startRedis(
      BINARIES!.server,
      ['--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no',
        '--requirepass', PASSWORD, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      port,
    );
    const url = `rediss://:${PASSWORD}@127.0.0.1:${port}`;
    const env = { REDIS_URL: url, NODE_EXTRA_CA_CERTS: cert, RAGSCOPE_QUEUE_PREFIX: uniquePrefix('tls'), DD_TRACE_ENABLED: 'false' };
    const doctor = await waitForDoctor(env);
    const redisCheck = doctor.checks.find((check) => check.name === 'redis')!;
    expect(redisCheck.level).toBe('ok');
    expect(redisCheck.detail).toContain(`rediss://:***@127.0.0.1:${port}`);

    processes.push(await startWorkerProcess(env));
    const run = await runCli(['enqueue', 'query', 'Is the queue encrypted in transit?', '-u', 'tls', '--wait', '--json'], env, 120_000);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ result: { answer: expect.any(String) } });
    for (const output of [run.stdout, run.stderr, processes[0]!.output(), JSON.stringify(doctor)]) expect(output).not.toContain(PASSWORD);
  }, 180_000);
});

async function waitForDoctor(env: Record<string, string>): Promise<{ checks: Array<{ name: string; level: string; detail: string }> }> {
  for (let attempt = 0; ; attempt += 1) {
    const run = await runCli(['doctor', '--json'], env);
    const output = JSON.parse(run.stdout) as { checks: Array<{ name: string; level: string; detail: string }> };
    if (output.checks.find((check) => check.name === 'redis')?.level === 'ok' || attempt >= 20) return output;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(!BINARIES)('serve while Redis is away', () => {
  const processes: WorkerProcess[] = [];
  let redis: RedisServerProcess | undefined;
  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    redis?.kill();
  });

  it('answers POST /query with 503 and a retry hint, then accepts jobs again once Redis is back, without a restart', async () => {
    const port = await freePort();
    redis = startRedis(BINARIES!.server, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port);
    await waitForPing(port);
    const servePort = await freePort();
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, RAGSCOPE_QUEUE_PREFIX: uniquePrefix('outage'), DD_TRACE_ENABLED: 'false' };
    processes.push(await startLongRunning(['serve', '--port', String(servePort)], env, 'ragscope serve on'));
    const post = () =>
      fetch(`http://127.0.0.1:${servePort}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'Is Redis there?', user_id: 'outage' }),
      });
    expect((await post()).status).toBe(202);

    redis.kill();
    const refused = await post();
    expect(refused.status).toBe(503);
    const body = (await refused.json()) as { error: string; hint: string };
    expect(body.error).toMatch(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${port} is unavailable or failing over`));
    expect(body.hint).toMatch(/^retry in a few seconds/);

    redis.restart();
    await waitForPing(port);
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 202; attempt += 1) {
      status = (await post()).status;
      if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(status).toBe(202);
  }, 120_000);
});
