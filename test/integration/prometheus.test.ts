import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { QUEUES } from '../../src/contracts/queues';
import { HeapSeriesStore } from '../../src/memory/heap-series-store';
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
const DASHBOARD = path.join(REPO_ROOT, 'deploy/grafana/ragscope.json');

interface DashboardPanel {
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr?: string; query?: string; datasource?: { type: string } }>;
  panels?: DashboardPanel[];
}
interface Dashboard {
  panels: DashboardPanel[];
  templating: { list: Array<{ name: string; allValue: string; definition: string }> };
}

/** What Grafana puts in place of its variables before a query reaches Prometheus ("All" for the template ones). */
function grafanaToPromQL(expr: string, templateVariables: Record<string, string>): string {
  let promql = expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h').replaceAll('$__interval', '15s');
  for (const [name, value] of Object.entries(templateVariables)) promql = promql.replaceAll(`\${${name}}`, value).replaceAll(`$${name}`, value);
  return promql;
}

/** Panels that may rightly be empty after this test's jobs, and why. */
const MAY_BE_EMPTY: Record<string, string> = {
  'SQL findings by rule': 'a finding needs a profiled job whose plan breaks a rule',
  'Firing alerts': 'the leak alert clears within seconds once the leak checks stop (compressed time)',
};

/**
 * The open-source path end to end: the real Prometheus server scrapes `serve`, a worker and the
 * scheduler every second, evaluates deploy/prometheus/alerts.yml, and the planted leak shows up in
 * ALERTS. Heap sampling is compressed: a 2 s period with forced GCs. (A tick waits half a period for
 * the workers' samples and judges only those that arrived; on a loaded 2-core machine a worker busy
 * with leak checks can take longer than the 0.25 s a 0.5 s period would allow, and is never judged.)
 * The threshold is 200 MB/h: the planted leak's rate in MB/s depends on how fast this machine runs
 * leak checks (about 2.4 MB per 10 iterations), so it is set low; this test has no clean worker.
 */
describe.skipIf(!PROMETHEUS || !PROMTOOL)('Prometheus scraping serve, a worker and the scheduler', () => {
  const prefix = uniquePrefix('prometheus');
  const env = {
    REDIS_URL,
    RAGSCOPE_QUEUE_PREFIX: prefix,
    DD_TRACE_ENABLED: 'false',
    RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS: '2000',
    RAGSCOPE_HEAP_SAMPLE_FORCE_GC: '1',
    RAGSCOPE_LEAK_THRESHOLD_MB_PER_HOUR: '200',
    // Every trace kept, so the span counter and the cost panels have data.
    DD_TRACE_SAMPLE_RATE: '1',
  };
  const processes: WorkerProcess[] = [];
  const endpoints: Record<'serve' | 'worker' | 'scheduler', string> = { serve: '', worker: '', scheduler: '' };
  const producer = new RagscopeProducer(loadConfig(env));
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const foreignQueue = new Queue(QUEUES.ragQuery, { connection, prefix });
  const heapStore = HeapSeriesStore.fromConfig(connection, loadConfig(env));
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
    // Through serve's HTTP API, as a client would.
    for (let index = 0; index < 3; index += 1) {
      const response = await fetch(`http://${endpoints.serve}/query?wait=60`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'Which Redis eviction policy suits a job queue?', user_id: 'prometheus' }),
      });
      expect(response.status).toBe(200);
    }
    // A job from a foreign script that breaks the contract: it fails once, and is counted.
    await foreignQueue.add('query', { query: '', userId: 'script' });

    // Leak checks until the alert fires; the scheduler needs 6 samples and two leak windows in a row.
    const firing = await waitFor(
      async () => {
        const { jobId } = await producer.enqueueLeakCheck({ iterations: 20, retainLeak: true });
        await producer.waitForResult(QUEUES.leakCheck, jobId, 60_000);
        const alerts = await prometheus.query('ALERTS{alertname="RagscopeLeakSuspected", alertstate="firing"}');
        return alerts.length > 0 ? alerts : undefined;
      },
      150_000,
      'RagscopeLeakSuspected to fire in Prometheus',
    ).catch(async (error: Error) => {
      // Say what the scheduler concluded, so a failure here tells verdict problems from scrape problems.
      throw new Error(`${error.message}; the scheduler's last verdict: ${JSON.stringify(await heapStore.verdict('leaky'))}`);
    });
    expect(firing.map((alert) => alert.metric)).toEqual([
      expect.objectContaining({ alertname: 'RagscopeLeakSuspected', alertstate: 'firing', worker: 'leaky', severity: 'warning' }),
    ]);
    expect(value(await prometheus.query('worker:ragscope_heap_growth_mb_per_hour:max{worker="leaky"}'))).toBeGreaterThan(200);

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

  it('accepts every PromQL expression of the Grafana dashboard, and the panels show the jobs above', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const variables = Object.fromEntries(dashboard.templating.list.map((variable) => [variable.name, variable.allValue]));
    for (const variable of dashboard.templating.list) {
      const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(variable.definition) ?? [];
      expect(metric, variable.definition).toBeDefined();
      const values = await prometheus.api<string[]>(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(metric!)}`);
      expect(values.length, variable.definition).toBeGreaterThan(0);
    }
    const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
    let checked = 0;
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if ((target.datasource ?? panel.datasource)?.type !== 'prometheus') continue;
        const promql = grafanaToPromQL(target.expr!, variables);
        // A refused expression throws with Prometheus' own error message, naming the panel.
        const result = await prometheus.query(promql).catch((error: Error) => {
          throw new Error(`panel "${panel.title}": ${error.message}`);
        });
        if (!(panel.title in MAY_BE_EMPTY)) expect(result.length, `panel "${panel.title}": ${promql} returned no series`).toBeGreaterThan(0);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });
});
