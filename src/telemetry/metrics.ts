import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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
