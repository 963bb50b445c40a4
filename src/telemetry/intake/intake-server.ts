import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTracePayload, normaliseTraceIdQuery } from './exported-span';
import { SpanStore } from './span-store';

/** dd-trace batches at most a few MB; anything far larger is not a tracer talking. */
const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

export interface LocalIntake {
  readonly url: string;
  readonly store: SpanStore;
  close(): Promise<void>;
}

export interface IntakeOptions {
  host?: string;
  port?: number;
  maxTraces?: number;
  onError?: (error: Error) => void;
}

/**
 * A stand-in for the Datadog agent's trace endpoint, for machines without an agent: dd-trace sends
 * its msgpack payloads here (`PUT /v0.4/traces`), the spans are kept in memory, and
 * `GET /ragscope/traces[/<id>]` hands them to `ragscope trace` and to tests. Other agent endpoints
 * (telemetry, remote config) are acknowledged and discarded so the tracer stays quiet.
 */
export async function startLocalIntake(options: IntakeOptions = {}): Promise<LocalIntake> {
  const store = new SpanStore(options.maxTraces);
  const server = createServer((request, response) => {
    handle(store, request, response).catch((error: Error) => {
      options.onError?.(error);
      if (!response.headersSent) sendJson(response, 400, { error: error.message });
    });
  });
  await listen(server, options.port ?? 8126, options.host ?? '127.0.0.1');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function handle(store: SpanStore, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://intake');
  const body = await readBody(request);
  if ((request.method === 'PUT' || request.method === 'POST') && url.pathname === '/v0.4/traces') {
    store.add(decodeTracePayload(body));
    // The agent's answer: an empty rate table leaves the tracer's own sampling decisions alone.
    return sendJson(response, 200, { rate_by_service: {} });
  }
  if (request.method === 'GET' && url.pathname === '/ragscope/traces') {
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 20) || 20, 500);
    return sendJson(response, 200, { traces: store.summaries(limit) });
  }
  const traceMatch = /^\/ragscope\/traces\/([^/]+)$/.exec(url.pathname);
  if (request.method === 'GET' && traceMatch) {
    const query = normaliseTraceIdQuery(decodeURIComponent(traceMatch[1]!));
    if (!query) return sendJson(response, 400, { error: 'trace id must be 32 or 16 hex digits, or a decimal id' });
    return sendJson(response, 200, { spans: store.trace(query) });
  }
  if (url.pathname === '/v0.7/config' || url.pathname === '/info') {
    // What an agent with these features off answers; dd-trace then stops asking for them.
    return sendJson(response, 404, { error: 'not supported by the ragscope intake' });
  }
  return sendJson(response, 200, {});
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) {
        reject(new Error(`payload over ${MAX_PAYLOAD_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
