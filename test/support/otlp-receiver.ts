/**
 * An OTLP/HTTP trace receiver for integration tests. It listens on a free loopback port,
 * accepts `POST /v1/traces` with a JSON body (OTLP's JSON encoding, gzip allowed) and keeps
 * every span it receives in arrival order.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One received span, flattened from its resource and scope. */
export interface ReceivedSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's SpanKind number: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** The resource attribute `service.name` of the process that sent the span. */
  serviceName: string | undefined;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`, to use as OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  /** Every span received so far. */
  spans: ReceivedSpan[];
  /** Requests that were rejected, each as `<status> <method> <path>: <reason>`. */
  rejected: string[];
  stop(): Promise<void>;
}

/** OTLP's span kind numbers, as the JSON encoding carries them. */
export const SpanKind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  links?: Array<{ traceId: string; spanId: string }>;
}

interface OtlpTraceRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

/** Starts the receiver on 127.0.0.1 and resolves once it listens. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];

  const server = http.createServer((request, response) => {
    const reject = (status: number, reason: string) => {
      rejected.push(`${status} ${request.method} ${request.url}: ${reason}`);
      request.resume();
      response.writeHead(status, { 'Content-Type': 'text/plain' }).end(`${reason}\n`);
    };

    if (request.method !== 'POST' || request.url !== '/v1/traces') {
      reject(404, 'only POST /v1/traces is served');
      return;
    }
    const mediaType = request.headers['content-type']?.split(';')[0]?.trim();
    if (mediaType !== 'application/json') {
      reject(415, `the body must be application/json (was ${mediaType ?? 'missing'})`);
      return;
    }

    void readBody(request)
      .then((body) => {
        const decoded = request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
        const payload = JSON.parse(decoded.toString('utf8')) as OtlpTraceRequest;
        spans.push(...flattenSpans(payload));
        response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      })
      .catch((error: unknown) => reject(400, `the body is not valid OTLP/JSON: ${String(error)}`));
  });

  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;

  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };

  return { endpoint: `http://127.0.0.1:${port}`, spans, rejected, stop };
}

async function readBody(request: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);

  return Buffer.concat(chunks);
}

function flattenSpans(payload: OtlpTraceRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];

  for (const resourceSpans of payload.resourceSpans ?? []) {
    const resource = toRecord(resourceSpans.resource?.attributes);
    const name = resource['service.name'];
    const serviceName = typeof name === 'string' ? name : undefined;

    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          // OTLP/JSON sends an empty string, or leaves the field out, for a root span.
          parentSpanId: span.parentSpanId ? span.parentSpanId : undefined,
          name: span.name,
          kind: span.kind ?? 0,
          serviceName,
          attributes: toRecord(span.attributes),
          links: (span.links ?? []).map((link) => ({ traceId: link.traceId, spanId: link.spanId })),
        });
      }
    }
  }

  return spans;
}

function toRecord(attributes: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const attribute of attributes ?? []) record[attribute.key] = toValue(attribute.value);

  return record;
}

/** Decodes an AnyValue. 64-bit integers may arrive as JSON strings, and become numbers. */
function toValue(value: OtlpAnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(toValue);
  if (value.kvlistValue !== undefined) return toRecord(value.kvlistValue.values);

  return value.bytesValue;
}
