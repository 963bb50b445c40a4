import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Gauge, Registry } from 'prom-client';
import { PACKAGE_VERSION } from '../../package-info';
import type { HeapSeriesStore } from '../../memory/heap-series-store';
import type { RagscopeProducer } from '../../queue/producer';
import { processMetrics } from '../../telemetry/metrics';
import type { ServerDependencies } from '../dependencies';
import { JOB_QUEUES } from './jobs';

const QUEUE_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;

/**
 * OpenAPI at /docs. Registered on the root before any route, because @fastify/swagger learns the
 * routes from the onRoute hook of the scope it is registered in.
 */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: { info: { title: 'ragscope', version: PACKAGE_VERSION, description: 'Enqueue RAG jobs and read their results, traces, profiles and memory verdicts.' } },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

/** `ragscope_queue_jobs{queue,state}`, read from BullMQ when Prometheus scrapes, not polled. */
function queueDepthGauge(producer: RagscopeProducer, registry: Registry): void {
  new Gauge({
    name: 'ragscope_queue_jobs',
    help: 'Jobs in each queue by state, read from BullMQ at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      for (const name of JOB_QUEUES) {
        const counts = await (await producer.queue(name)).getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
      }
    },
  });
}

/** `ragscope_live_workers`: the workers /health counts as seen recently, for the "no worker seen" alert. */
function liveWorkersGauge(heapStore: HeapSeriesStore, registry: Registry): void {
  new Gauge({
    name: 'ragscope_live_workers',
    help: 'Worker processes that sent a heartbeat within the liveness window (three heap-sampling periods, at least 10 s).',
    registers: [registry],
    async collect() {
      this.set((await heapStore.liveWorkers()).length);
    },
  });
}

/** Liveness and readiness (/health) and Prometheus metrics (/metrics). */
export async function opsRoutes(app: FastifyInstance, deps: ServerDependencies): Promise<void> {
  app.get('/health', { schema: { description: 'Redis, PostgreSQL and workers, with versions; 503 when a service is down.' } }, async (_request, reply) => {
    const checks = await Promise.all(
      deps.healthChecks.map(async ({ name, check }) => {
        try {
          return { name, ok: true, status: await check() };
        } catch (error) {
          return { name, ok: false, status: (error as Error).message };
        }
      }),
    );
    const workers = await deps.heapStore.liveWorkers().catch(() => []);
    const ok = checks.every((check) => check.ok);
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      checks: Object.fromEntries(checks.map((check) => [check.name, { ok: check.ok, status: check.status }])),
      workers: { seenRecently: workers.length, ids: workers },
      versions: { ragscope: PACKAGE_VERSION, node: process.version },
    });
  });

  // The queue and worker gauges belong to this app (they read its producer and store); the rest is the process's set.
  const own = new Registry();
  queueDepthGauge(deps.producer, own);
  liveWorkersGauge(deps.heapStore, own);
  const registry = Registry.merge([(deps.metrics ?? processMetrics()).registry, own]);
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
}
