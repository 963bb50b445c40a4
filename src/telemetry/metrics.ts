import { createServer, type Server } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Bytes in the MB of ragscope's heap figures (MiB: V8 reports bytes, readings divide by 2^20). */
export const BYTES_PER_MB = 1024 * 1024;

/**
 * ragscope's metrics, created on a registry of the caller's choosing: one per process in production
 * (`processMetrics()`), a fresh one per test or per embedded server. Nothing is registered at import
 * time, so two servers in one process never fight over a metric name.
 */
export function createMetrics(registry: Registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    sqlFindingsTotal: new Counter({
      name: 'ragscope_sql_findings_total',
      help: 'Findings of the plan rules on profiled jobs\u2019 SQL, by rule and severity.',
      labelNames: ['rule', 'severity'] as const,
      registers,
    }),
    // Prometheus wants base units (`promtool check metrics` flags `_mb_per_hour`), so the verdict's
    // MB/h slope is exported in bytes per second; deploy/prometheus/alerts.yml records it back as MB/h.
    heapGrowthBytesPerSecond: new Gauge({
      name: 'ragscope_heap_growth_bytes_per_second',
      help: 'Theil–Sen slope of each worker\u2019s post-GC heap over the verdict window, in bytes per second (\u00d7 3600 / 1048576 = the MB/h of the verdict; recording rule worker:ragscope_heap_growth_mb_per_hour:max).',
      labelNames: ['worker'] as const,
      registers,
    }),
    leakSuspected: new Gauge({
      name: 'ragscope_leak_suspected',
      help: '1 while a worker\u2019s leak alert is raised, else 0.',
      labelNames: ['worker'] as const,
      registers,
    }),
    // What per-job profiling costs, beside process_cpu_seconds_total: their rate ratio is the share
    // the overhead cap (DD_PROFILING_MAX_TIME_USAGE_PCT) holds down, and the reason a busy worker
    // with small jobs profiles fewer jobs than its capture rate says.
    jobProfilesTotal: new Counter({
      name: 'ragscope_job_profiles_total',
      help: 'Per-job CPU profiles this process took, by what selected the job: requested (profile: always), slow (an earlier run was slow) or sampled (DD_PROFILING_CAPTURE_PCT).',
      labelNames: ['trigger'] as const,
      registers,
    }),
    jobProfilingCpuSecondsTotal: new Counter({
      name: 'ragscope_job_profiling_cpu_seconds_total',
      help: 'CPU time per-job profiles cost this process (starting, stopping, encoding, writing and ranking): what the overhead cap is charged.',
      registers,
    }),
    jobsTotal: new Counter({
      name: 'ragscope_jobs_total',
      help: 'Jobs this process finished, by queue and outcome.',
      labelNames: ['queue', 'status'] as const,
      registers,
    }),
    jobDurationSeconds: new Histogram({
      name: 'ragscope_job_duration_seconds',
      help: 'Processing time of finished jobs (from start to finish in the worker).',
      labelNames: ['queue'] as const,
      // 3 s is a bucket boundary so the "P95 > 3 s" alert (deploy/prometheus/alerts.yml) is exact, not interpolated.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5, 10, 30, 60],
      registers,
    }),
    stageDurationSeconds: new Histogram({
      name: 'ragscope_stage_duration_seconds',
      help: 'Duration of each RAG pipeline stage.',
      labelNames: ['stage'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    heapUsedBytes: new Gauge({
      name: 'ragscope_heap_used_bytes',
      help: 'V8 used heap of this process at scrape time (includes garbage not yet collected).',
      registers,
      collect() {
        this.set(getHeapStatistics().used_heap_size);
      },
    }),
    traceSampleRate: new Gauge({
      name: 'ragscope_trace_sample_rate',
      help: 'The trace sample rate ragscope applied last (adaptive: lower above the high-volume rate).',
      registers,
    }),
    spanPriceUsd: new Gauge({
      name: 'ragscope_span_price_usd',
      help: 'Price of one indexed span in USD (RAGSCOPE_SPAN_PRICE_PER_MILLION_USD / 1e6): the cost estimate\u2019s price.',
      registers,
    }),
    traceBudgetUsd: new Gauge({
      name: 'ragscope_trace_budget_usd',
      help: 'Monthly trace budget in USD: the lowest of RAGSCOPE_BUDGET_ALERTS_USD.',
      registers,
    }),
    spansEstimatedTotal: new Counter({
      name: 'ragscope_spans_estimated_total',
      help: 'Spans of the traces this process decided to keep (the input of the cost estimate).',
      registers,
    }),
  };
}

export type RagscopeMetrics = ReturnType<typeof createMetrics>;

let processWide: RagscopeMetrics | undefined;

/** The process's own metric set, created on first use: what `/metrics` of serve and workers shows. */
export function processMetrics(): RagscopeMetrics {
  processWide ??= createMetrics();
  return processWide;
}

/**
 * `/metrics` for a process that has no HTTP server of its own (a worker): started only when
 * RAGSCOPE_METRICS_PORT is set, on loopback unless told otherwise.
 */
export async function serveMetrics(port: number, host = '127.0.0.1', registry: Registry = processMetrics().registry): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
