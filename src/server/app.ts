import { getHeapStatistics } from 'node:v8';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Job } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import type { RagscopeConfig } from '../config/config';
import { isUserError, ValidationError } from '../contracts/errors';
import type { HeapSeriesStore } from '../memory/heap-series-store';
import { PROFILE_MODES } from '../contracts/jobs';
import { QUEUES, type QueueName } from '../contracts/queues';
import { WaitTimeoutError, type RagscopeProducer } from '../queue/producer';
import { PACKAGE_VERSION } from '../package-info';
import { metricsRegistry } from '../telemetry/metrics';
import { requireBearer } from './auth';
import { registerBoard } from './board';

export interface HealthCheck {
  name: string;
  check: () => Promise<string>;
}

export interface ServerDependencies {
  config: RagscopeConfig;
  producer: RagscopeProducer;
  heapStore: HeapSeriesStore;
  logger: Logger;
  /** Each returns a short status or throws; any throw makes /health answer 503. */
  healthChecks: HealthCheck[];
}

const MAX_WAIT_SECONDS = 120;
const QUEUE_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;

/** `ragscope_queue_jobs{queue,state}`, read from BullMQ when Prometheus scrapes, not polled. */
function registerQueueDepthGauge(producer: RagscopeProducer): void {
  // One gauge a registry: a second server in the same process (tests) takes the metric over.
  metricsRegistry.removeSingleMetric('ragscope_queue_jobs');
  new Gauge({
    name: 'ragscope_queue_jobs',
    help: 'Jobs in each queue by state, read from BullMQ at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [metricsRegistry],
    async collect() {
      for (const name of JOB_QUEUES) {
        const counts = await (await producer.queue(name)).getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
      }
    },
  });
}
const JOB_QUEUES: QueueName[] = [QUEUES.ragQuery, QUEUES.leakCheck];

/** `ragscope_live_workers`: the workers /health counts as seen recently, for the "no worker seen" alert. */
function registerLiveWorkersGauge(heapStore: HeapSeriesStore): void {
  metricsRegistry.removeSingleMetric('ragscope_live_workers');
  new Gauge({
    name: 'ragscope_live_workers',
    help: 'Worker processes that sent a heartbeat within the liveness window (three heap-sampling periods, at least 10 s).',
    registers: [metricsRegistry],
    async collect() {
      this.set((await heapStore.liveWorkers()).length);
    },
  });
}

/** The HTTP API: enqueue and read results only; the pipeline runs in workers. */
export async function buildServer(deps: ServerDependencies): Promise<FastifyInstance> {
  return buildApp(deps) as unknown as Promise<FastifyInstance>;
}

async function buildApp(deps: ServerDependencies) {
  const { config, producer } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimitBytes,
    // Request logs carry method, URL and status only: query text and user ids are in bodies, never logged.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false } },
  });

  app.setErrorHandler((failure: unknown, request, reply) => {
    const error = failure as FastifyError;
    if (error.validation) {
      const problems = error.validation.map((issue) => {
        const field = (issue.instancePath || '').replace(/^\//, '').replace(/\//g, '.') || (issue.params as { missingProperty?: string }).missingProperty || 'body';
        const missing = (issue.params as { missingProperty?: string }).missingProperty;
        return missing ? { field: missing, message: 'is required' } : { field, message: issue.message ?? 'is invalid' };
      });
      return reply.code(400).send({ error: problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '), fields: problems });
    }
    if (isUserError(failure)) return reply.code(failure instanceof ValidationError ? 400 : 503).send({ error: failure.message, hint: failure.hint });
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  await app.register(swagger, {
    openapi: { info: { title: 'ragscope', version: PACKAGE_VERSION, description: 'Enqueue RAG jobs and read their results, traces, profiles and memory verdicts.' } },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await registerBoard(app, await Promise.all(JOB_QUEUES.map((name) => producer.queue(name))), {
    user: config.server.adminUser,
    password: config.server.adminPassword,
    writable: config.server.boardWrite,
  });

  const mutating = { onRequest: requireBearer(config.server.apiToken) };

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

  app.post<{ Body: { query: string; user_id: string; top_k?: number; profile?: (typeof PROFILE_MODES)[number]; plant_bottleneck?: boolean }; Querystring: { wait?: string } }>(
    '/query',
    {
      ...mutating,
      schema: {
        description: 'Enqueue a rag-query job. With ?wait=<seconds>, wait for the result (200) or return 202 on timeout.',
        body: {
          type: 'object',
          required: ['query', 'user_id'],
          additionalProperties: false,
          properties: {
            query: { type: 'string', minLength: 1, maxLength: 2000 },
            user_id: { type: 'string', minLength: 1, maxLength: 128 },
            top_k: { type: 'integer', minimum: 1, maximum: 50 },
            profile: { type: 'string', enum: [...PROFILE_MODES] },
            plant_bottleneck: { type: 'boolean' },
          },
        },
        // Query strings arrive as text; bodies are not coerced, so the number is checked here.
        querystring: { type: 'object', properties: { wait: { type: 'string', pattern: '^\\d{1,3}(\\.\\d+)?$', description: `seconds, at most ${MAX_WAIT_SECONDS}` } } },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const enqueued = await producer.enqueueQuery({
        query: body.query,
        userId: body.user_id,
        ...(body.top_k !== undefined ? { topK: body.top_k } : {}),
        ...(body.profile ? { profile: body.profile } : {}),
        ...(body.plant_bottleneck ? { plantBottleneck: true } : {}),
      });
      const accepted = { job_id: enqueued.jobId, trace_id: enqueued.traceId, status_url: `/jobs/${enqueued.jobId}` };
      const waitSeconds = Math.min(Number(request.query.wait ?? 0), MAX_WAIT_SECONDS);
      if (waitSeconds > 0) {
        try {
          const result = await producer.waitForQueryResult(enqueued.jobId, waitSeconds * 1000);
          return reply.code(200).send({ ...accepted, state: 'completed', result });
        } catch (error) {
          if (!(error instanceof WaitTimeoutError)) throw error;
        }
      }
      return reply.code(202).send(accepted);
    },
  );

  app.post<{ Body: { iterations: number; retain_leak?: boolean; query?: string } }>(
    '/memory/leak-check',
    {
      ...mutating,
      schema: {
        description: 'Enqueue a leak-check job; follow it at /jobs/:id (progress: iteration, heapUsedMb).',
        body: {
          type: 'object',
          required: ['iterations'],
          additionalProperties: false,
          properties: {
            iterations: { type: 'integer', minimum: 1, maximum: 1000 },
            retain_leak: { type: 'boolean' },
            query: { type: 'string', minLength: 1, maxLength: 2000 },
          },
        },
      },
    },
    async (request, reply) => {
      const enqueued = await producer.enqueueLeakCheck({
        iterations: request.body.iterations,
        retainLeak: Boolean(request.body.retain_leak),
        ...(request.body.query !== undefined ? { query: request.body.query } : {}),
      });
      return reply.code(202).send({ job_id: enqueued.jobId, trace_id: enqueued.traceId, status_url: `/jobs/${enqueued.jobId}?queue=${QUEUES.leakCheck}` });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { queue?: QueueName } }>(
    '/jobs/:id',
    {
      schema: {
        description: 'State, progress, result or failure reason of a job (rag-query unless ?queue=leak-check).',
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Za-z0-9:_-]{1,128}$' } } },
        querystring: { type: 'object', properties: { queue: { type: 'string', enum: JOB_QUEUES } } },
      },
    },
    async (request, reply) => {
      const queueName = request.query.queue ?? QUEUES.ragQuery;
      const job = await Job.fromId(await producer.queue(queueName), request.params.id);
      if (!job) return reply.code(404).send({ error: `no job ${request.params.id} in queue ${queueName}` });
      const state = await job.getState();
      return {
        job_id: job.id,
        queue: queueName,
        state,
        progress: job.progress,
        attempts: job.attemptsMade,
        ...(state === 'completed' ? { result: job.returnvalue } : {}),
        ...(state === 'failed' ? { failed_reason: job.failedReason } : {}),
      };
    },
  );

  app.get('/memory/stats', { schema: { description: "This process's heap and every worker's latest samples and leak verdict." } }, async () => {
    const live = new Set(await deps.heapStore.liveWorkers());
    const workers = await Promise.all(
      (await deps.heapStore.knownWorkers()).map(async (workerId) => ({
        worker_id: workerId,
        live: live.has(workerId),
        latest_samples: (await deps.heapStore.series(workerId)).slice(-5),
        verdict: (await deps.heapStore.verdict(workerId)) ?? null,
      })),
    );
    const heap = getHeapStatistics();
    return {
      process: { heap_used_mb: Math.round((heap.used_heap_size / 2 ** 20) * 100) / 100, rss_mb: Math.round((process.memoryUsage.rss() / 2 ** 20) * 100) / 100 },
      workers,
    };
  });

  registerQueueDepthGauge(producer);
  registerLiveWorkersGauge(deps.heapStore);
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics()),
  );

  return app;
}
