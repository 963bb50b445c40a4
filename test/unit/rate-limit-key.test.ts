import { describe, expect, it } from 'vitest';
import { rateLimitKey } from '../../src/server/rate-limit';

const TOKEN = 'rate-limit-token-0123456789';

describe('rateLimitKey', () => {
  it.each([
    ['the right token', `Bearer ${TOKEN}`, TOKEN, 'token'],
    ['the right token, scheme in lower case', `bearer ${TOKEN}`, TOKEN, 'token'],
    ['a wrong token', 'Bearer made-up-token-000000000', TOKEN, 'ip'],
    ['no header', undefined, TOKEN, 'ip'],
    ['basic credentials', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, TOKEN, 'ip'],
    ['a token while none is configured', `Bearer ${TOKEN}`, undefined, 'ip'],
  ])('counts a request with %s under its %s', (_what, authorization, apiToken, kind) => {
    const key = rateLimitKey(authorization, '10.1.2.3', apiToken);
    expect(key.split(':')[0]).toBe(kind);
    if (kind === 'ip') expect(key).toBe('ip:10.1.2.3');
  });

  it('keys the token by a hash, never the secret itself, the same for every IP', () => {
    const fromOne = rateLimitKey(`Bearer ${TOKEN}`, '10.1.2.3', TOKEN);
    const fromAnother = rateLimitKey(`Bearer ${TOKEN}`, '192.168.0.9', TOKEN);
    expect(fromOne).toBe(fromAnother);
    expect(fromOne).not.toContain(TOKEN);
    expect(fromOne).toMatch(/^token:[0-9a-f]{32}$/);
  });
});
