import type { FastifyInstance } from 'fastify';
import { QUEUES, type QueueName } from '../../contracts/queues';
import { JOB_ID_PATTERN } from '../../queue/job-ids';
import { JobFailedError, WaitTimeoutError } from '../../queue/producer';
import { requireRedis } from '../availability';
import { requireBearer } from '../auth';
import type { ServerDependencies } from '../dependencies';
import { jsonSchema, queryRequestSchema, type QueryRequest } from '../schemas';

const MAX_WAIT_SECONDS = 120;
export const JOB_QUEUES: QueueName[] = [QUEUES.ragQuery, QUEUES.leakCheck];

/** Enqueue a rag-query (optionally waiting for it) and read any job's state and result. */
export async function jobsRoutes(app: FastifyInstance, { config, producer }: ServerDependencies): Promise<void> {
  const withToken = { onRequest: requireBearer(config.server.apiToken) };
  app.addHook('onRequest', requireRedis(producer));
  // A server shutting down answers its `?wait` requests (202, as on timeout) instead of holding the exit.
  app.addHook('preClose', async () => producer.stopWaiting());

  app.post<{ Body: QueryRequest; Querystring: { wait?: string } }>(
    '/query',
    {
      ...withToken,
      schema: {
        description: 'Enqueue a rag-query job. With ?wait=<seconds>, wait for the result (200) or return 202 on timeout.',
        body: jsonSchema(queryRequestSchema),
        // Query strings arrive as text; bodies are not coerced, so the number is checked here.
        querystring: { type: 'object', properties: { wait: { type: 'string', pattern: '^\\d{1,3}(\\.\\d+)?$', description: `seconds, at most ${MAX_WAIT_SECONDS}` } } },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const enqueued = await producer.enqueueQuery({
        query: body.query,
        userId: body.user_id,
        topK: body.top_k,
        profile: body.profile,
        ...(body.plant_bottleneck ? { plantBottleneck: true } : {}),
      });
      const accepted = { job_id: enqueued.jobId, trace_id: enqueued.traceId, status_url: `/jobs/${enqueued.jobId}` };
      const waitSeconds = Math.min(Number(request.query.wait ?? 0), MAX_WAIT_SECONDS);
      if (waitSeconds > 0) {
        try {
          const result = await producer.waitForQueryResult(enqueued.jobId, waitSeconds * 1000);
          return reply.code(200).send({ ...accepted, state: 'completed', result });
        } catch (error) {
          if (error instanceof JobFailedError) return reply.code(200).send({ ...accepted, state: 'failed', failed_reason: error.reason });
          if (!(error instanceof WaitTimeoutError)) throw error;
        }
      }
      return reply.code(202).send(accepted);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { queue?: QueueName } }>(
    '/jobs/:id',
    {
      // Results hold users' questions and answers, and ids are sequential: reading needs the token too.
      ...withToken,
      schema: {
        description: 'State, progress, result or failure reason of a job (rag-query unless ?queue=leak-check).',
        params: { type: 'object', properties: { id: { type: 'string', pattern: JOB_ID_PATTERN.source } } },
        querystring: { type: 'object', properties: { queue: { type: 'string', enum: JOB_QUEUES } } },
      },
    },
    async (request, reply) => {
      const queueName = request.query.queue ?? QUEUES.ragQuery;
      const found = await producer.findJobWithState(queueName, request.params.id);
      if (!found) return reply.code(404).send({ error: `no job ${request.params.id} in queue ${queueName}` });
      const { job, state } = found;
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
}
