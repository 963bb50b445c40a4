import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Gauge, Registry } from 'prom-client';
import { PACKAGE_VERSION } from '../../package-info';
import type { HeapSeriesStore } from '../../memory/heap-series-store';
import type { RagscopeProducer } from '../../queue/producer';
import { processMetrics } from '../../telemetry/metrics';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../availability';
import type { HealthCheck, ServerDependencies } from '../dependencies';
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

/** Health checks answer within this, so /health does too: a check that hangs counts as failed. */
export const HEALTH_CHECK_TIMEOUT_MS = 900;

/**
 * The gauges `serve` reads from Redis at scrape time. While Redis is unavailable they keep their
 * last values and `ragscope_queue_jobs_stale` says so; /metrics keeps answering with everything
 * else (process, heap, sampling), never a 500.
 */
function redisGauges(producer: RagscopeProducer, heapStore: HeapSeriesStore, registry: Registry): void {
  const readIfAvailable = async (read: () => Promise<void>): Promise<void> => {
    if (!producer.isAvailable()) return;
    await read().catch(() => undefined);
  };
  new Gauge({
    name: 'ragscope_queue_jobs',
    help: 'Jobs in each queue by state, read from BullMQ at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      await readIfAvailable(async () => {
        for (const name of JOB_QUEUES) {
          const counts = await (await producer.queue(name)).getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        }
      });
    },
  });
  new Gauge({
    name: 'ragscope_live_workers',
    help: 'Worker processes whose liveness key has not expired (a heartbeat every RAGSCOPE_WORKER_HEARTBEAT_SECONDS; 3 missed and a worker is gone).',
    registers: [registry],
    async collect() {
      await readIfAvailable(async () => this.set((await heapStore.liveWorkers()).length));
    },
  });
  new Gauge({
    name: 'ragscope_queue_jobs_stale',
    help: '1 while Redis is unavailable: ragscope_queue_jobs and ragscope_live_workers hold the last values read.',
    registers: [registry],
    collect() {
      this.set(producer.isAvailable() ? 0 : 1);
    },
  });
}

async function runCheck({ name, check }: HealthCheck): Promise<{ name: string; ok: boolean; status: string }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_CHECK_TIMEOUT_MS} ms`)), HEALTH_CHECK_TIMEOUT_MS);
  });
  try {
    return { name, ok: true, status: await Promise.race([check(), deadline]) };
  } catch (error) {
    return { name, ok: false, status: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness and readiness (/health) and Prometheus metrics (/metrics). */
export async function opsRoutes(app: FastifyInstance, deps: ServerDependencies): Promise<void> {
  app.get('/health', { schema: { description: 'Redis, PostgreSQL and workers, with versions; 503 when a service is down.' } }, async (_request, reply) => {
    const checks = await Promise.all(deps.healthChecks.map(runCheck));
    const redisUp = deps.producer.isAvailable();
    const workers = redisUp ? await deps.heapStore.liveWorkers().catch(() => undefined) : undefined;
    const ok = checks.every((check) => check.ok) && redisUp;
    if (!ok) reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      checks: Object.fromEntries(checks.map((check) => [check.name, { ok: check.ok, status: check.status }])),
      // Unknown (null) while Redis cannot be read, rather than a misleading 0.
      workers: { seenRecently: workers?.length ?? null, ids: workers ?? [] },
      versions: { ragscope: PACKAGE_VERSION, node: process.version },
    });
  });

  // The Redis gauges belong to this app (they read its producer and store); the rest is the process's set.
  const own = new Registry();
  redisGauges(deps.producer, deps.heapStore, own);
  const registry = Registry.merge([(deps.metrics ?? processMetrics()).registry, own]);
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
}
