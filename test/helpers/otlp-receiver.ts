import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as protobuf from 'protobufjs';
import { REPO_ROOT } from './processes';

/**
 * The official OTLP definitions (opentelemetry-proto v1.7.0), as vendored verbatim in the dd-trace
 * package ragscope pins; protobufjs parses them. Checked by the header, so a dd-trace upgrade that
 * moves or changes them fails here with a clear message rather than decoding garbage.
 */
const PROTO_DIR = path.join(REPO_ROOT, 'node_modules/dd-trace/packages/dd-trace/src/opentelemetry/otlp');
const PROTO_SOURCE = 'https://github.com/open-telemetry/opentelemetry-proto/blob/v1.7.0/';

function loadExportRequestType(): protobuf.Type {
  for (const file of ['common.proto', 'resource.proto', 'trace.proto', 'trace_service.proto']) {
    const head = readFileSync(path.join(PROTO_DIR, file), 'utf8').slice(0, 300);
    if (!head.includes(PROTO_SOURCE)) throw new Error(`${PROTO_DIR}/${file} is not opentelemetry-proto v1.7.0 any more`);
  }
  const root = new protobuf.Root();
  // The vendored files import each other by bare name ("common.proto").
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, path.basename(target));
  root.loadSync('trace_service.proto');
  return root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
}

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
}

/** A span as decoded from the wire, ids as lower-case hex. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status?: { code?: number; message?: string };
  events: Array<{ name: string }>;
  resource: Record<string, string | number | boolean>;
  scope: string;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string;
  spans: ReceivedSpan[];
}

export interface OtlpReceiver {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  url: string;
  requests: ReceivedRequest[];
  spans(): ReceivedSpan[];
  trace(traceId: string): ReceivedSpan[];
  close(): Promise<void>;
}

function attributeMap(attributes: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const map: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    map[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue ?? '';
  }
  return map;
}

/** The spans of one ExportTraceServiceRequest body. */
export function decodeExportTraceRequest(type: protobuf.Type, body: Buffer): ReceivedSpan[] {
  const request = type.toObject(type.decode(body), { longs: String, bytes: Buffer, defaults: false }) as {
    resourceSpans?: Array<{
      resource?: { attributes?: OtlpAttribute[] };
      scopeSpans?: Array<{
        scope?: { name?: string };
        spans?: Array<{
          traceId: Buffer;
          spanId: Buffer;
          parentSpanId?: Buffer;
          name: string;
          kind?: number;
          attributes?: OtlpAttribute[];
          status?: { code?: number; message?: string };
          events?: Array<{ name: string }>;
        }>;
      }>;
    }>;
  };
  return (request.resourceSpans ?? []).flatMap((resourceSpans) =>
    (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span) => ({
        traceId: span.traceId.toString('hex'),
        spanId: span.spanId.toString('hex'),
        parentSpanId: span.parentSpanId ? span.parentSpanId.toString('hex') : '',
        name: span.name,
        kind: span.kind ?? 0,
        attributes: attributeMap(span.attributes),
        status: span.status,
        events: span.events ?? [],
        resource: attributeMap(resourceSpans.resource?.attributes),
        scope: scopeSpans.scope?.name ?? '',
      })),
    ),
  );
}

/**
 * A stand-in for an OpenTelemetry collector on a free loopback port: every POST is kept, and the
 * ones to /v1/traces are decoded as OTLP protobuf (a body that does not decode fails the request
 * with 400, and the test sees it in `requests`).
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const type = loadExportRequestType();
  const requests: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const received: ReceivedRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        contentType: request.headers['content-type'] ?? '',
        spans: [],
      };
      requests.push(received);
      try {
        if (received.path === '/v1/traces' && received.contentType === 'application/x-protobuf') received.spans = decodeExportTraceRequest(type, body);
      } catch (error) {
        response.writeHead(400).end((error as Error).message);
        return;
      }
      // An empty ExportTraceServiceResponse: zero bytes of protobuf.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const spans = () => requests.flatMap((request) => request.spans);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans,
    trace: (traceId) => spans().filter((span) => span.traceId === traceId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
