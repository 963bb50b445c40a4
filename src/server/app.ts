import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isUserError, ServiceUnavailableError, TooManyRequestsError } from '../contracts/errors';
import { isRedisUnavailable } from '../queue/connection';
import { MAX_JOB_ID_LENGTH } from '../queue/job-ids';
import { replyUnavailable } from './availability';
import { registerBoard } from './board';
import { registerRateLimit } from './rate-limit';
import type { ServerDependencies } from './dependencies';
import { jobsRoutes, JOB_QUEUES } from './routes/jobs';
import { memoryRoutes } from './routes/memory';
import { opsRoutes, registerDocs } from './routes/ops';

export type { HealthCheck, ServerDependencies } from './dependencies';

/**
 * The HTTP API: enqueue and read results only; the pipeline runs in workers. One plugin per concern
 * (jobs, memory, ops, board), sharing the error handler that turns user errors into 4xx.
 */
export async function buildServer(deps: ServerDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: deps.config.server.bodyLimitBytes,
    // Fastify's default (100) is below the longest job id the API documents (128); longer ids get a 400.
    routerOptions: { maxParamLength: 2 * MAX_JOB_ID_LENGTH },
    // Request logs carry method, URL and status only: query text and user ids are in bodies, never logged.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false } },
  });
  app.setErrorHandler(handleError);
  await registerDocs(app);
  // The job and memory API share one rate limit per client; /health, /metrics, /docs and Bull Board
  // (behind its own password) are outside it, so probes and dashboards are never throttled.
  await app.register(async (api) => {
    await registerRateLimit(api, {
      max: deps.config.server.rateLimitMax,
      windowSeconds: deps.config.server.rateLimitWindowSeconds,
      apiToken: deps.config.server.apiToken,
    });
    await api.register(jobsRoutes, deps);
    await api.register(memoryRoutes, deps);
  });
  await app.register(opsRoutes, deps);
  await registerBoard(app, await Promise.all(JOB_QUEUES.map((name) => deps.producer.queue(name))), {
    user: deps.config.server.adminUser,
    password: deps.config.server.adminPassword,
    writable: deps.config.server.boardWrite,
    producer: deps.producer,
  });
  return app as unknown as FastifyInstance;
}

/**
 * Validation failures name every field (400); a full queue or a client over its rate limit is 429
 * and a service down 503, both with Retry-After; other user errors 4xx; anything else is logged and
 * answered 500 without details.
 */
function handleError(failure: unknown, request: FastifyRequest, reply: FastifyReply) {
  const error = failure as FastifyError;
  if (error.validation) {
    const problems = error.validation.map((issue) => {
      const missing = (issue.params as { missingProperty?: string }).missingProperty;
      const field = (issue.instancePath || '').replace(/^\//, '').replace(/\//g, '.') || missing || 'body';
      return missing ? { field: missing, message: 'is required' } : { field, message: issue.message ?? 'is invalid' };
    });
    return reply.code(400).send({ error: problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '), fields: problems });
  }
  if (failure instanceof TooManyRequestsError) {
    return reply
      .code(429)
      .header('retry-after', String(failure.retryAfterSeconds))
      .send({ error: failure.message, hint: failure.hint, retry_after_seconds: failure.retryAfterSeconds });
  }
  if (failure instanceof ServiceUnavailableError || isRedisUnavailable(failure)) {
    return replyUnavailable(reply, failure instanceof ServiceUnavailableError ? failure : undefined);
  }
  if (isUserError(failure)) return reply.code(400).send({ error: failure.message, hint: failure.hint });
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return reply.code(error.statusCode).send({ error: error.message });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send({ error: 'internal error' });
}
