import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { QUEUES } from '../../src/contracts/queues';
import { RagscopeProducer } from '../../src/queue/producer';
import { freePort, REDIS_URL, uniquePrefix } from '../helpers/env';
import { REPO_ROOT, startLongRunning, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { startPrometheus, type PrometheusServer, type PrometheusVectorSample } from '../helpers/prometheus';
import { deletePrefix } from '../helpers/redis';
import { requireTool } from '../helpers/tools';

const INSTALL = "Debian's prometheus package: apt-get install prometheus";
const PROMETHEUS = requireTool('prometheus', INSTALL);
const PROMTOOL = requireTool('promtool', INSTALL);
const ALERT_RULES = path.join(REPO_ROOT, 'deploy/prometheus/alerts.yml');

/**
 * The open-source path end to end: the real Prometheus server scrapes `serve`, a worker and the
 * scheduler every second, evaluates deploy/prometheus/alerts.yml, and the planted leak shows up in
 * ALERTS. Heap sampling is compressed as in heap-scheduler.test.ts: a 0.5 s period, forced GCs, and
 * a 3,000 MB/h threshold (0.8 MB/s, far above an idle worker's drift, far below the planted leak).
 */
describe.skipIf(!PROMETHEUS || !PROMTOOL)('Prometheus scraping serve, a worker and the scheduler', () => {
  const prefix = uniquePrefix('prometheus');
  const env = {
    REDIS_URL,
    RAGSCOPE_QUEUE_PREFIX: prefix,
    DD_TRACE_ENABLED: 'false',
    RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS: '500',
    RAGSCOPE_HEAP_SAMPLE_FORCE_GC: '1',
    RAGSCOPE_LEAK_THRESHOLD_MB_PER_HOUR: '3000',
  };
  const processes: WorkerProcess[] = [];
  const endpoints: Record<'serve' | 'worker' | 'scheduler', string> = { serve: '', worker: '', scheduler: '' };
  const producer = new RagscopeProducer(loadConfig(env));
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const foreignQueue = new Queue(QUEUES.ragQuery, { connection, prefix });
  let prometheus: PrometheusServer;

  const value = (samples: PrometheusVectorSample[]): number | undefined => (samples[0] ? Number(samples[0].value[1]) : undefined);

  beforeAll(async () => {
    const [servePort, workerPort, schedulerPort] = [await freePort(), await freePort(), await freePort()];
    processes.push(await startWorkerProcess({ ...env, RAGSCOPE_WORKER_ID: 'leaky', RAGSCOPE_METRICS_PORT: String(workerPort) }));
    processes.push(await startLongRunning(['scheduler'], { ...env, RAGSCOPE_METRICS_PORT: String(schedulerPort) }, '"heap scheduler ready"'));
    processes.push(await startLongRunning(['serve', '--port', String(servePort)], env, 'ragscope serve on'));
    endpoints.serve = `127.0.0.1:${servePort}`;
    endpoints.worker = `127.0.0.1:${workerPort}`;
    endpoints.scheduler = `127.0.0.1:${schedulerPort}`;
    prometheus = await startPrometheus(PROMETHEUS!, {
      jobs: {
        'ragscope-serve': [endpoints.serve],
        'ragscope-worker': [endpoints.worker],
        'ragscope-scheduler': [endpoints.scheduler],
      },
      ruleFiles: [ALERT_RULES],
    });
  }, 240_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(processes.map((process) => process.stop()));
    await producer.close();
    await foreignQueue.close();
    await connection.quit();
    await deletePrefix(prefix);
  });

  it('counts the jobs and raises RagscopeLeakSuspected in ALERTS for the worker running retainLeak checks', async () => {
    for (let index = 0; index < 3; index += 1) {
      const { jobId } = await producer.enqueueQuery({ query: 'Which Redis eviction policy suits a job queue?', userId: 'prometheus' });
      await producer.waitForQueryResult(jobId, 60_000);
    }
    // A job from a foreign script that breaks the contract: it fails once, and is counted.
    await foreignQueue.add('query', { query: '', userId: 'script' });

    // Leak checks until the alert fires; the scheduler needs 6 samples and two leak windows in a row.
    const firing = await waitFor(
      async () => {
        const { jobId } = await producer.enqueueLeakCheck({ iterations: 10, retainLeak: true });
        await producer.waitForResult(QUEUES.leakCheck, jobId, 60_000);
        const alerts = await prometheus.query('ALERTS{alertname="RagscopeLeakSuspected", alertstate="firing"}');
        return alerts.length > 0 ? alerts : undefined;
      },
      150_000,
      'RagscopeLeakSuspected to fire in Prometheus',
    );
    expect(firing.map((alert) => alert.metric)).toEqual([
      expect.objectContaining({ alertname: 'RagscopeLeakSuspected', alertstate: 'firing', worker: 'leaky', severity: 'warning' }),
    ]);
    expect(value(await prometheus.query('worker:ragscope_heap_growth_mb_per_hour:max{worker="leaky"}'))).toBeGreaterThan(3000);

    await waitFor(
      async () => ((value(await prometheus.query('sum(ragscope_jobs_total{queue="rag-query", status="failed"})')) ?? 0) >= 1 ? true : undefined),
      30_000,
      'the failed job to be scraped',
    );
    const byStatus = await prometheus.query('sum by (queue, status) (ragscope_jobs_total)');
    const count = (queue: string, status: string) =>
      Number(byStatus.find((sample) => sample.metric.queue === queue && sample.metric.status === status)?.value[1] ?? 0);
    expect(count('rag-query', 'completed')).toBe(3);
    expect(count('rag-query', 'failed')).toBe(1);
    expect(count('leak-check', 'completed')).toBeGreaterThanOrEqual(1);
    expect(value(await prometheus.query('sum(ragscope_job_duration_seconds_count{queue="rag-query"})'))).toBe(4);
    expect(value(await prometheus.query('max(ragscope_live_workers)'))).toBe(1);
    expect(await prometheus.query('ragscope_queue_jobs{queue="rag-query", state="completed"}')).toHaveLength(1);

    // Every target healthy, no scrape error (a malformed exposition would show here).
    const targets = await prometheus.api<{ activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> }>('/api/v1/targets');
    expect(targets.activeTargets.map((target) => [target.labels.job, target.health, target.lastError]).sort()).toEqual([
      ['ragscope-scheduler', 'up', ''],
      ['ragscope-serve', 'up', ''],
      ['ragscope-worker', 'up', ''],
    ]);
  }, 300_000);

  it('promtool check metrics has nothing to say about any ragscope_* metric of serve, the worker or the scheduler', async () => {
    for (const [name, endpoint] of Object.entries(endpoints)) {
      const exposition = await (await fetch(`http://${endpoint}/metrics`)).text();
      expect(exposition, name).toMatch(/^ragscope_/m);
      const lint = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
      // prom-client's own nodejs_* defaults draw remarks ragscope cannot change; ragscope's must draw none.
      const ours = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => line.startsWith('ragscope_'));
      expect(ours, name).toEqual([]);
    }
  });
});
