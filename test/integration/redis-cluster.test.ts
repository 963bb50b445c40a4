import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RagscopeKeys } from '../../src/queue/keys';
import { freePort } from '../helpers/env';
import { runCli, startLongRunning, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { redisBinaries, startCluster, type TestCluster } from '../helpers/redis-topologies';

const BINARIES = redisBinaries();

/**
 * Every ragscope process on a real 3-primary Redis Cluster started here: the CLI producer, a worker,
 * the heap scheduler (its ticks travel by pub/sub), serve with Bull Board, `memory status` and
 * `doctor`. The default prefix becomes `{bull}`, so every key of every queue and every ragscope key
 * lives in one slot: the test reads CLUSTER KEYSLOT for each key found on any node.
 */
describe.skipIf(!BINARIES)('on a 3-primary Redis Cluster', () => {
  let cluster: TestCluster;
  let env: Record<string, string | undefined>;
  const processes: WorkerProcess[] = [];
  let serveUrl = '';

  beforeAll(async () => {
    cluster = await startCluster(BINARIES!);
    env = {
      REDIS_URL: undefined,
      REDIS_CLUSTER_NODES: cluster.seeds,
      // The default prefix, so the test sees it become a hash tag by itself.
      RAGSCOPE_QUEUE_PREFIX: undefined,
      DD_TRACE_ENABLED: 'false',
      RAGSCOPE_WORKER_ID: 'cluster-worker',
      RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS: '500',
    };
    processes.push(await startWorkerProcess(env));
    processes.push(await startLongRunning(['scheduler'], env, '"heap scheduler ready"'));
    const port = await freePort();
    processes.push(await startLongRunning(['serve', '--port', String(port)], env, 'ragscope serve on'));
    serveUrl = `http://127.0.0.1:${port}`;
  }, 240_000);

  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    cluster?.stop();
  });

  it('runs a query and a leak check enqueued by the CLI', async () => {
    const query = await runCli(['enqueue', 'query', 'How does a cluster keep a queue in one slot?', '-u', 'cluster', '--wait', '--json'], env, 120_000);
    expect(query.stderr).toBe('');
    expect(query.code).toBe(0);
    expect(JSON.parse(query.stdout)).toMatchObject({ result: { answer: expect.any(String) } });
    const leak = await runCli(['enqueue', 'leak-check', '--iterations', '20', '--wait', '--json'], env, 120_000);
    expect(leak.code).toBe(0);
    expect(JSON.parse(leak.stdout)).toMatchObject({ result: expect.any(Object) });
  }, 240_000);

  it('takes heap samples on scheduler ticks (pub/sub across the cluster) and `memory status` lists the worker', async () => {
    const status = await waitFor(
      async () => {
        const run = await runCli(['memory', 'status', '--json'], env);
        const workers = run.code === 0 ? (JSON.parse(run.stdout) as { workers: Array<{ workerId: string; samples: number }> }).workers : [];
        const worker = workers.find((entry) => entry.workerId === 'cluster-worker');
        return worker && worker.samples >= 3 ? worker : undefined;
      },
      60_000,
      'three heap samples of the worker',
    );
    expect(status).toMatchObject({ workerId: 'cluster-worker', live: true });
  }, 90_000);

  it('serves the HTTP API, and Bull Board lists the queues', async () => {
    const enqueued = await fetch(`${serveUrl}/query?wait=60`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'Which slot holds the queue?', user_id: 'cluster' }),
    });
    expect(enqueued.status).toBe(200);
    const queues = await fetch(`${serveUrl}/admin/queues/api/queues`);
    expect(queues.status).toBe(200);
    const names = ((await queues.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> }).queues;
    expect(names.map((queue) => queue.name).sort()).toEqual(['leak-check', 'rag-query']);
    expect(names.find((queue) => queue.name === 'rag-query')!.counts.completed).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('doctor reports the cluster and checks every primary', async () => {
    const run = await runCli(['doctor', '--json'], env);
    const output = JSON.parse(run.stdout) as { checks: Array<{ name: string; level: string; detail: string }> };
    const check = (name: string) => output.checks.find((entry) => entry.name === name);
    expect(check('redis')).toMatchObject({ level: 'ok' });
    expect(check('redis')!.detail).toMatch(/Cluster via 127\.0\.0\.1:\d+.*; Cluster: 3 primaries, 0 replicas/);
    expect(check('redis topology')).toMatchObject({ level: 'warn' });
    expect(check('redis eviction')).toMatchObject({ level: 'ok', detail: 'noeviction on all 3 nodes' });
    // The test cluster keeps nothing on disk: doctor says so for each primary.
    expect(check('redis persistence')!.level).toBe('warn');
    expect(check('redis persistence')!.detail.match(/127\.0\.0\.1:\d+/g)).toHaveLength(3);
  }, 60_000);

  it('keeps every key of every queue, and every ragscope key, in the slot of {bull}', async () => {
    const client = new Cluster(cluster.nodes);
    try {
      const expectedSlot = (await client.call('CLUSTER', 'KEYSLOT', '{bull}')) as number;
      const keys = (await Promise.all(client.nodes('master').map((node) => node.keys('*')))).flat();
      expect(keys.some((key) => key.startsWith('{bull}:rag-query:'))).toBe(true);
      expect(keys.some((key) => key.startsWith('{bull}:ragscope:heap:series:'))).toBe(true);
      expect(keys.some((key) => key.startsWith('{bull}:ragscope:enqueued:'))).toBe(true);
      const slots = new Set(await Promise.all(keys.map((key) => client.call('CLUSTER', 'KEYSLOT', key) as Promise<number>)));
      expect([...slots]).toEqual([expectedSlot]);
      // And the keys ragscope builds but this run may not have written.
      const builder = new RagscopeKeys('{bull}');
      const built = [builder.enqueuedBucket(1), builder.slowJob('f'), builder.anySlowJob(), builder.heapWorkers(), builder.heapSeries('w'), builder.heapTickClaim('t', 'w'), builder.heapVerdict('w'), builder.heapTickChannel()];
      for (const key of built) expect(await client.call('CLUSTER', 'KEYSLOT', key)).toBe(expectedSlot);
    } finally {
      client.disconnect();
    }
    for (const process of processes) expect(process.output()).not.toMatch(/CROSSSLOT/);
  }, 60_000);

  it('refuses a prefix without a hash tag at start-up, saying how to fix it', async () => {
    const run = await runCli(['enqueue', 'query', 'q', '-u', 'u'], { ...env, RAGSCOPE_QUEUE_PREFIX: 'rag' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/RAGSCOPE_QUEUE_PREFIX="rag" has no hash tag.*use RAGSCOPE_QUEUE_PREFIX=\{rag\}/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
