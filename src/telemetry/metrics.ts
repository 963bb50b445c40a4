import { createServer, type Server } from 'node:http';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry a process, as Prometheus client conventions have it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

export const sqlFindingsTotal = new Counter({
  name: 'ragscope_sql_findings_total',
  help: 'Findings of the plan rules on profiled jobs\u2019 SQL, by rule and severity.',
  labelNames: ['rule', 'severity'] as const,
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
