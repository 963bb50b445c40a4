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

/** The credentials of an `Authorization` header of `scheme`; the scheme name is case-insensitive (RFC 7235). */
export function credentialsOf(header: string | undefined, scheme: 'Bearer' | 'Basic'): string {
  const match = /^([A-Za-z]+) +(.*)$/.exec(header ?? '');
  return match && match[1]!.toLowerCase() === scheme.toLowerCase() ? match[2]!.trim() : '';
}

/** onRequest hook: `Authorization: Bearer <token>`, when a token is configured. */
export function requireBearer(token: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!token) return;
    const given = credentialsOf(request.headers.authorization, 'Bearer');
    if (!given || !secretsEqual(given, token)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token (RAGSCOPE_API_TOKEN)' });
    }
  };
}

/**
 * onRequest hook: HTTP basic auth for Bull Board, when a password is configured. Both fields are
 * always compared, so the time taken does not tell whether the user name was right.
 */
export function requireBasicAuth(user: string, password: string | undefined, compare: typeof secretsEqual = secretsEqual) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!password) return;
    const decoded = Buffer.from(credentialsOf(request.headers.authorization, 'Basic'), 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    const userMatches = compare(separator >= 0 ? decoded.slice(0, separator) : decoded, user);
    const passwordMatches = compare(separator >= 0 ? decoded.slice(separator + 1) : '', password);
    if (!(separator > 0 && userMatches && passwordMatches)) {
      await reply.code(401).header('www-authenticate', 'Basic realm="ragscope admin", charset="UTF-8"').send({ error: 'credentials required' });
    }
  };
}

/** 127.0.0.0/8, ::1 and `localhost`: the addresses where an unauthenticated server is acceptable. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
