import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, uniquePrefix } from '../helpers/env';
import { startLongRunning, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { PrivateRedis } from '../helpers/redis';

const WORKER_ID = 'liveness-worker';
const HEARTBEAT_SECONDS = 1;
/** A bound against a hang on a loaded machine; before the fix the answer came after an hour or three. */
const BOUND_MS = 60_000;

interface Health {
  status: string;
  workers: { seenRecently: number | null; ids: string[] };
}

/**
 * /health's worker count from heartbeats measured in seconds (issue 16, finding 7: after a Redis
 * restart /health said `seenRecently: 0` for 40 s while a worker completed jobs; heartbeats were
 * hourly and a dead worker counted as live for 3 h). Real processes on a Redis of the test's own,
 * restarted empty (no persistence), as after a crash without AOF.
 */
describe('worker liveness on /health', () => {
  let redis: PrivateRedis;
  let worker: WorkerProcess;
  let serve: WorkerProcess;
  let base: string;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    const env = { REDIS_URL: redis.url, RAGSCOPE_QUEUE_PREFIX: uniquePrefix('liveness'), DD_TRACE_ENABLED: 'false', RAGSCOPE_WORKER_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) };
    worker = await startWorkerProcess({ ...env, RAGSCOPE_WORKER_ID: WORKER_ID }, ['--queues', 'rag-query']);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serve = await startLongRunning(['serve', '--port', String(port)], env, 'ragscope serve on');
  });

  afterAll(async () => {
    await serve?.stop();
    await worker?.stop();
    await redis?.stop();
  });

  const health = async (): Promise<{ status: number; body?: Health }> => {
    const response = await fetch(`${base}/health`).catch(() => undefined);
    if (!response) return { status: 0 };
    return { status: response.status, body: (await response.json()) as Health };
  };
  const counted = async () => {
    const { status, body } = await health();
    return status === 200 && body?.workers.ids.includes(WORKER_ID) ? body : undefined;
  };

  it('counts the running worker', async () => {
    const body = await waitFor(counted, BOUND_MS, 'the worker on /health');
    expect(body.workers.seenRecently).toBe(1);
  });

  it('counts it again within a few heartbeats after Redis restarts empty, and the worker completes jobs', async () => {
    await redis.stop();
    await waitFor(async () => ((await health()).status === 503 ? true : undefined), BOUND_MS, '/health to see the outage');
    await redis.start();
    const restartedAt = Date.now();
    const body = await waitFor(counted, BOUND_MS, 'the worker on /health after the restart');
    console.log(`worker counted again ${Date.now() - restartedAt} ms after Redis came back (heartbeat ${HEARTBEAT_SECONDS} s)`);
    expect(body.workers).toEqual({ seenRecently: 1, ids: [WORKER_ID] });
    const query = await fetch(`${base}/query?wait=60`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'is the worker back?', user_id: 'liveness' }),
    });
    expect(query.status).toBe(200);
    expect(((await query.json()) as { state: string }).state).toBe('completed');
  });

  it('stops counting a killed worker once it has missed three heartbeats', async () => {
    await waitFor(counted, BOUND_MS, 'the worker on /health before the kill');
    worker.child.kill('SIGKILL');
    const killedAt = Date.now();
    const body = await waitFor(async () => {
      const { status, body: current } = await health();
      return status === 200 && current && !current.workers.ids.includes(WORKER_ID) ? current : undefined;
    }, BOUND_MS, 'the killed worker to leave /health');
    const goneAfterMs = Date.now() - killedAt;
    console.log(`killed worker left /health after ${goneAfterMs} ms (heartbeat ${HEARTBEAT_SECONDS} s, 3 may be missed)`);
    expect(body.workers.seenRecently).toBe(0);
  });
});
