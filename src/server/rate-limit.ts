import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimitError } from '../contracts/errors';
import { credentialsOf, secretsEqual } from './auth';

export interface RateLimitOptions {
  /** Requests per client and window; 0 = no limit. */
  max: number;
  windowSeconds: number;
  /** RAGSCOPE_API_TOKEN: a request that presents it is counted under the token, not its IP. */
  apiToken?: string;
}

/**
 * Who a request is counted against: the API token (as a hash, so the secret never sits in the
 * limiter's keys) when the request presents the right one, else its IP. An unchecked token is not
 * a key: anyone could otherwise start a fresh budget with every made-up token.
 */
export function rateLimitKey(authorization: string | undefined, ip: string, apiToken: string | undefined): string {
  const given = credentialsOf(authorization, 'Bearer');
  if (apiToken && given && secretsEqual(given, apiToken)) return `token:${createHash('sha256').update(given).digest('hex').slice(0, 32)}`;
  return `ip:${ip}`;
}

/**
 * Per-client rate limiting (@fastify/rate-limit, in-memory: each `serve` process counts its own
 * clients) for every route of `scope`. Added as the scope's first onRequest hook, so it runs before
 * authentication and Redis are touched: a flood of wrong tokens is limited too, by IP. A client over
 * its budget gets 429 with Retry-After and the API's JSON error body.
 */
export async function registerRateLimit(scope: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.max === 0) return;
  await scope.register(rateLimit, {
    global: false,
    max: options.max,
    timeWindow: options.windowSeconds * 1000,
    keyGenerator: (request: FastifyRequest) => rateLimitKey(request.headers.authorization, request.ip, options.apiToken),
    errorResponseBuilder: (_request, context) => {
      const retryAfterSeconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new RateLimitError(
        `rate limit exceeded: more than ${context.max} requests in ${options.windowSeconds} s from this client (RAGSCOPE_RATE_LIMIT_MAX)`,
        `retry in ${retryAfterSeconds} s`,
        retryAfterSeconds,
      );
    },
  });
  scope.addHook('onRequest', scope.rateLimit());
}
