import { createServer, type Server } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry a process, as Prometheus client conventions have it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

export const sqlFindingsTotal = new Counter({
  name: 'ragscope_sql_findings_total',
  help: 'Findings of the plan rules on profiled jobs\u2019 SQL, by rule and severity.',
  labelNames: ['rule', 'severity'] as const,
  registers: [metricsRegistry],
});

export const heapGrowthMbPerHour = new Gauge({
  name: 'ragscope_heap_growth_mb_per_hour',
  help: 'Theil–Sen slope of each worker\u2019s post-GC heap over the verdict window.',
  labelNames: ['worker'] as const,
  registers: [metricsRegistry],
});

export const leakSuspected = new Gauge({
  name: 'ragscope_leak_suspected',
  help: '1 while a worker\u2019s leak alert is raised, else 0.',
  labelNames: ['worker'] as const,
  registers: [metricsRegistry],
});

export const jobsTotal = new Counter({
  name: 'ragscope_jobs_total',
  help: 'Jobs this process finished, by queue and outcome.',
  labelNames: ['queue', 'status'] as const,
  registers: [metricsRegistry],
});

export const jobDurationSeconds = new Histogram({
  name: 'ragscope_job_duration_seconds',
  help: 'Processing time of finished jobs (from start to finish in the worker).',
  labelNames: ['queue'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [metricsRegistry],
});

export const stageDurationSeconds = new Histogram({
  name: 'ragscope_stage_duration_seconds',
  help: 'Duration of each RAG pipeline stage.',
  labelNames: ['stage'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [metricsRegistry],
});

export const heapUsedBytes = new Gauge({
  name: 'ragscope_heap_used_bytes',
  help: 'V8 used heap of this process at scrape time (includes garbage not yet collected).',
  registers: [metricsRegistry],
  collect() {
    this.set(getHeapStatistics().used_heap_size);
  },
});

export const traceSampleRate = new Gauge({
  name: 'ragscope_trace_sample_rate',
  help: 'The trace sample rate ragscope applied last (adaptive: lower above the high-volume rate).',
  registers: [metricsRegistry],
});

export const spansEstimatedTotal = new Counter({
  name: 'ragscope_spans_estimated_total',
  help: 'Spans of the traces this process decided to keep (the input of the cost estimate).',
  registers: [metricsRegistry],
});

/**
 * `/metrics` for a process that has no HTTP server of its own (a worker): started only when
 * RAGSCOPE_METRICS_PORT is set, on loopback unless told otherwise.
 */
export async function serveMetrics(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    metricsRegistry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(body),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
