import type { FastifyReply } from 'fastify';
import type { ServiceUnavailableError } from '../contracts/errors';
import type { RagscopeProducer } from '../queue/producer';

/** Seconds a client should wait after a 503: ioredis retries a lost connection at least every 2 s. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * onRequest hook for routes that need Redis: while the connection is down the request is answered
 * 503 (with Retry-After) at once, from the connection's state, instead of after ioredis' retries.
 */
export function requireRedis(producer: Pick<RagscopeProducer, 'assertAvailable'>) {
  return async (): Promise<void> => producer.assertAvailable();
}

/** 503 with Retry-After and a body naming the service that is down. */
export function replyUnavailable(reply: FastifyReply, unavailable?: ServiceUnavailableError): FastifyReply {
  return reply
    .code(503)
    .header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS))
    .send({ error: unavailable?.message ?? 'Redis is unavailable', service: unavailable?.service ?? 'redis', ...(unavailable?.hint ? { hint: unavailable.hint } : {}) });
}
