import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Compares secrets in constant time. Both sides are hashed first so the comparison also takes the
 * same time whatever the lengths, and no length is leaked.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** onRequest hook: `Authorization: Bearer <token>` for mutating endpoints, when a token is configured. */
export function requireBearer(token: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!token) return;
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!given || !secretsEqual(given, token)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token (RAGSCOPE_API_TOKEN)' });
    }
  };
}

/** onRequest hook: HTTP basic auth for Bull Board, when a password is configured. */
export function requireBasicAuth(user: string, password: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!password) return;
    const header = request.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const ok =
      separator > 0 &&
      secretsEqual(decoded.slice(0, separator), user) &&
      secretsEqual(decoded.slice(separator + 1), password);
    if (!ok) {
      await reply.code(401).header('www-authenticate', 'Basic realm="ragscope admin", charset="UTF-8"').send({ error: 'credentials required' });
    }
  };
}

/** 127.0.0.0/8, ::1 and `localhost`: the addresses where an unauthenticated server is acceptable. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
