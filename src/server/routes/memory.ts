import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { QUEUES } from '../../contracts/queues';
import { requireBearer } from '../auth';
import { requireRedis } from '../availability';
import type { ServerDependencies } from '../dependencies';
import { jsonSchema, leakCheckRequestSchema, type LeakCheckRequest } from '../schemas';

/** Leak checks on demand, and the long-horizon heap samples and verdicts of every worker. */
export async function memoryRoutes(app: FastifyInstance, { config, producer, heapStore }: ServerDependencies): Promise<void> {
  app.addHook('onRequest', requireRedis(producer));
  app.post<{ Body: LeakCheckRequest }>(
    '/memory/leak-check',
    {
      onRequest: requireBearer(config.server.apiToken),
      schema: {
        description: 'Enqueue a leak-check job; follow it at /jobs/:id (progress: iteration, heapUsedMb).',
        body: jsonSchema(leakCheckRequestSchema),
      },
    },
    async (request, reply) => {
      const enqueued = await producer.enqueueLeakCheck({
        iterations: request.body.iterations,
        retainLeak: request.body.retain_leak,
        ...(request.body.query !== undefined ? { query: request.body.query } : {}),
      });
      return reply.code(202).send({ job_id: enqueued.jobId, trace_id: enqueued.traceId, status_url: `/jobs/${enqueued.jobId}?queue=${QUEUES.leakCheck}` });
    },
  );

  app.get('/memory/stats', { schema: { description: "This process's heap and every worker's latest samples and leak verdict." } }, async () => {
    const live = new Set(await heapStore.liveWorkers());
    const workers = await Promise.all(
      (await heapStore.knownWorkers()).map(async (workerId) => ({
        worker_id: workerId,
        live: live.has(workerId),
        latest_samples: (await heapStore.series(workerId)).slice(-5),
        verdict: (await heapStore.verdict(workerId)) ?? null,
      })),
    );
    const heap = getHeapStatistics();
    return {
      process: { heap_used_mb: Math.round((heap.used_heap_size / 2 ** 20) * 100) / 100, rss_mb: Math.round((process.memoryUsage.rss() / 2 ** 20) * 100) / 100 },
      workers,
    };
  });
}
