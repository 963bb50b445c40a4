import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { postAlert } from '../../src/memory/alert-webhook';
import { freePort } from '../helpers/env';

const silent = pino({ level: 'silent' });
const noWait = async () => undefined;

describe('postAlert', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('retries a failing receiver until it accepts, with the verdict as JSON', async () => {
    const bodies: unknown[] = [];
    let calls = 0;
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        calls++;
        bodies.push(JSON.parse(body));
        response.writeHead(calls < 3 ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const delivered = await postAlert(`http://127.0.0.1:${port}/hook`, { event: 'leak-suspected', workerId: 'w1' }, silent, noWait);
    expect(delivered).toBe(true);
    expect(calls).toBe(3);
    expect(bodies[2]).toEqual({ event: 'leak-suspected', workerId: 'w1' });
  });

  it('gives up after its attempts without throwing when nothing listens', async () => {
    const delivered = await postAlert(`http://127.0.0.1:${await freePort()}/hook`, { event: 'leak-cleared' }, silent, noWait);
    expect(delivered).toBe(false);
  });
});
