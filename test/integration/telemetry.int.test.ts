/**
 * Traces, logs and metrics of the real `api` and `worker` processes, started with the command
 * line of their npm scripts and exporting spans to an OTLP/HTTP receiver in this test.
 */
import { randomBytes } from 'node:crypto';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createS3Client } from '../../infra/s3-client.js';
import { loadConfig } from '../../runtime/config.js';
import { type CreatedExport, waitForEnd } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SpanKind,
  startOtlpReceiver,
} from '../support/otlp-receiver.js';
import {
  type ExitStatus,
  findFreePort,
  type LogLine,
  type ServiceProcess,
  spawnServiceProcess,
  waitForHealthy,
} from '../support/processes.js';

const MiB = 1024 * 1024;

/** Two sources of 3 MiB make a zip over the 5 MiB part size, so the upload has two parts. */
const sources = [
  { fileId: 71_001, name: 'first.bin', bytes: randomBytes(3 * MiB) },
  { fileId: 71_002, name: 'second.bin', bytes: randomBytes(3 * MiB) },
  { fileId: 71_003, name: 'notes.txt', bytes: randomBytes(1_000) },
];

let testServices: TestServices;
let s3Client: S3Client;

beforeAll(async () => {
  testServices = await startTestServices();
  const config = loadConfig(testServices.env);
  s3Client = createS3Client(config.s3);

  for (const source of sources) {
    const key = config.sourceKeyTemplate.replaceAll('{file_id}', String(source.fileId));
    const command = new PutObjectCommand({
      Bucket: config.sourceBucket,
      Key: key,
      Body: source.bytes,
      Metadata: { filename: source.name },
    });
    await s3Client.send(command);
  }
});

afterAll(async () => {
  s3Client?.destroy();
  await testServices?.stop();
});

describe('telemetry with an OTLP endpoint', () => {
  /** The made-up caller whose span the API must continue. */
  const caller = { traceId: randomHex(16), spanId: randomHex(8) };

  let receiver: OtlpReceiver;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let apiUrl: string;
  let workerMetricsUrl: string;

  let preflight: Response;
  let created: Response;
  let createdBody: CreatedExport;
  let final: ExportSnapshot;
  let status: Response;
  let apiMetrics: string;
  let workerMetrics: string;
  let workerSpansBeforeStop: number;
  let workerExit: ExitStatus;
  let apiExit: ExitStatus;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const apiPort = await findFreePort();
    const metricsPort = await findFreePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    workerMetricsUrl = `http://127.0.0.1:${metricsPort}`;
    const env = {
      ...testServices.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    api = spawnServiceProcess('api', { ...env, API_PORT: String(apiPort) });
    worker = spawnServiceProcess('worker', {
      ...env,
      METRICS_PORT: String(metricsPort),
      // A batch delay longer than the test keeps the worker's spans in memory until the flush
      // on SIGTERM. Only a full batch of 512 spans would leave earlier, and one export makes
      // fewer than 100.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    await waitForHealthy(`${apiUrl}/health`, api);
    await waitForHealthy(`${workerMetricsUrl}/health`, worker);

    preflight = await fetch(`${apiUrl}/v1/export`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://app.example.test',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, traceparent',
      },
    });
    created = await fetch(`${apiUrl}/v1/export`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        traceparent: `00-${caller.traceId}-${caller.spanId}-01`,
      },
      body: JSON.stringify({ file_ids: sources.map((source) => source.fileId) }),
    });
    createdBody = (await created.json()) as CreatedExport;
    final = await waitForEnd(apiUrl, createdBody.jobId);

    // The worker logs "Job completed" after it counts the job, so the counter is in /metrics.
    await worker.waitForLog(
      (line) => line.jobId === createdBody.jobId && line.msg === 'Job completed',
      `"Job completed" line for job ${createdBody.jobId}`,
    );
    workerMetrics = await (await fetch(`${workerMetricsUrl}/metrics`)).text();
    const workerSpans = receiver.spans.filter((span) => span.serviceName === 'export-worker');
    workerSpansBeforeStop = workerSpans.length;
    workerExit = await worker.stop();

    status = await fetch(`${apiUrl}/v1/export/${createdBody.jobId}`);
    await status.arrayBuffer();
    apiMetrics = await (await fetch(`${apiUrl}/metrics`)).text();
    // Stopping flushes the API's spans too, instead of waiting for the batch delay.
    apiExit = await api.stop();
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await receiver?.stop();
  });

  /** Returns the one span that matches, or throws naming the spans that were received. */
  const findSpan = (description: string, match: (span: ReceivedSpan) => boolean): ReceivedSpan => {
    const found = receiver.spans.filter(match);
    if (found.length !== 1) {
      const names = new Set(receiver.spans.map((span) => `${span.serviceName}: ${span.name}`));
      const received = [...names].join(', ');
      throw new Error(`Expected 1 ${description}, found ${found.length}. Received: ${received}`);
    }

    return found[0]!;
  };

  const serverSpan = () =>
    findSpan(
      'POST /v1/export server span',
      (span) => span.kind === SpanKind.server && span.name.startsWith('POST'),
    );
  const enqueueSpan = () =>
    findSpan('enqueue span of build-export', (span) => span.name === 'add exports.build-export');
  const jobSpan = () => findSpan('process exports span', (span) => span.name === 'process exports');

  /** Returns the spans below `ancestor`, found by following parent ids upwards. */
  const spansInside = (ancestor: ReceivedSpan, name: string): ReceivedSpan[] => {
    const byId = new Map(receiver.spans.map((span) => [span.spanId, span]));
    const isInside = (span: ReceivedSpan) => {
      for (let parent = span.parentSpanId; parent; parent = byId.get(parent)?.parentSpanId) {
        if (parent === ancestor.spanId) return true;
      }
      return false;
    };

    return receiver.spans.filter((span) => span.name === name && isInside(span));
  };

  describe('trace', () => {
    it('accepts every OTLP request', () => {
      expect(receiver.rejected).toEqual([]);
    });

    it('continues the incoming traceparent', () => {
      expect(serverSpan().traceId).toBe(caller.traceId);
      expect(serverSpan().parentSpanId).toBe(caller.spanId);
    });

    it('names the server span after the route', () => {
      expect(serverSpan().name).toBe('POST /v1/export');
      expect(serverSpan().attributes['http.route']).toBe('/v1/export');
    });

    it.each([
      ['POST', '/v1/export'],
      ['GET', '/v1/export/:id'],
    ])('sets http.route on %s %s', (method, route) => {
      const spans = receiver.spans.filter(
        (span) => span.kind === SpanKind.server && span.name === `${method} ${route}`,
      );

      expect(spans.length).toBeGreaterThan(0);
      expect(spans.map((span) => span.attributes['http.route'])).toEqual(spans.map(() => route));
    });

    it('leaves health probes untraced', () => {
      const probes = receiver.spans.filter(
        (span) => span.attributes['url.path'] === '/health' || span.attributes['http.target'] === '/health',
      );

      expect(probes).toEqual([]);
    });

    it('names each service', () => {
      expect(serverSpan().serviceName).toBe('export-api');
      expect(jobSpan().serviceName).toBe('export-worker');
    });

    it('keeps one trace across processes', () => {
      expect(enqueueSpan().traceId).toBe(caller.traceId);
      expect(jobSpan().traceId).toBe(caller.traceId);
    });

    it('enqueues inside the request span', () => {
      expect(enqueueSpan().kind).toBe(SpanKind.producer);
      expect(enqueueSpan().parentSpanId).toBe(serverSpan().spanId);
    });

    it('runs the job as child of the enqueue', () => {
      expect(jobSpan().kind).toBe(SpanKind.consumer);
      expect(jobSpan().parentSpanId).toBe(enqueueSpan().spanId);
    });

    it('tags the job span with id and attempt', () => {
      expect(jobSpan().attributes['export.job_id']).toBe(createdBody.jobId);
      expect(jobSpan().attributes['export.attempt']).toBe(1);
    });

    it.each(['S3.HeadObject', 'S3.GetObject'])('records one %s per source', (name) => {
      const calls = spansInside(jobSpan(), name);
      const buckets = new Set(calls.map((span) => span.attributes['aws.s3.bucket']));

      expect(calls).toHaveLength(sources.length);
      expect([...buckets]).toEqual(['downloads']);
    });

    it('records Redis commands inside the job', () => {
      const commands = spansInside(jobSpan(), 'hget');

      expect(commands.length).toBeGreaterThan(0);
      expect(commands.map((span) => span.attributes['db.system.name'])).toContain('redis');
    });

    it('records the upload inside the job', () => {
      expect(spansInside(jobSpan(), 'S3 upload')).toHaveLength(1);
    });

    it('nests the part uploads in the upload span', () => {
      const isUpload = (span: ReceivedSpan) => span.name === 'S3 upload';
      const upload = findSpan('S3 upload span', isUpload);

      expect(spansInside(upload, 'S3.CreateMultipartUpload')).toHaveLength(1);
      expect(spansInside(upload, 'S3.UploadPart')).toHaveLength(2);
      expect(spansInside(upload, 'S3.CompleteMultipartUpload')).toHaveLength(1);
    });

    it('records the presign inside the job', () => {
      expect(spansInside(jobSpan(), 'S3 presign GetObject')).toHaveLength(1);
    });
  });

  describe('HTTP headers', () => {
    it('returns the incoming trace id', () => {
      const [version, traceId, spanId] = created.headers.get('traceparent')?.split('-') ?? [];

      expect(version).toBe('00');
      expect(traceId).toBe(caller.traceId);
      expect(spanId).toBe(serverSpan().spanId);
    });

    it('exposes trace headers to browsers', () => {
      const exposed = (preflight.headers.get('access-control-expose-headers') ?? '')
        .split(',')
        .map((name) => name.trim().toLowerCase());

      expect(preflight.status).toBe(204);
      expect(exposed).toContain('traceparent');
      expect(exposed).toContain('x-request-id');
      expect(exposed).toContain('location');
    });
  });

  describe('status request', () => {
    const statusTraceId = () => status.headers.get('traceparent')?.split('-')[1];
    const statusSpan = () =>
      findSpan(
        'server span of the status request',
        (span) => span.kind === SpanKind.server && span.traceId === statusTraceId(),
      );

    it('starts a trace of its own', () => {
      expect(statusTraceId()).toMatch(/^[0-9a-f]{32}$/);
      expect(statusTraceId()).not.toBe(caller.traceId);
      expect(statusSpan().parentSpanId).toBeUndefined();
    });

    it('names its span after the route', () => {
      expect(statusSpan().name).toBe('GET /v1/export/:id');
      expect(statusSpan().attributes['http.route']).toBe('/v1/export/:id');
    });
  });

  describe('worker stop', () => {
    it('exits with 0 on SIGTERM', () => {
      expect(workerExit).toEqual({ code: 0, signal: null });
    });

    it('holds spans until the stop', () => {
      expect(workerSpansBeforeStop).toBe(0);
    });

    it('flushes the job spans on SIGTERM', () => {
      const jobSpans = receiver.spans.filter((span) => span.name === 'process exports');

      expect(jobSpans).toHaveLength(1);
    });

    it('leaves the API serving', () => {
      expect(status.status).toBe(200);
    });

    it('stops the API with 0 on SIGTERM', () => {
      expect(apiExit).toEqual({ code: 0, signal: null });
    });
  });

  describe('logs', () => {
    const requestLog = () => findRequestLog(api, created);
    const jobLogs = () => worker.logs.filter((line) => line.jobId === createdBody.jobId);

    it('logs the request with its id', () => {
      expect(created.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(requestLog()?.route).toBe('/v1/export');
    });

    it('logs the trace id in the API', () => {
      expect(requestLog()?.trace_id).toBe(caller.traceId);
      expect(requestLog()?.span_id).toBe(serverSpan().spanId);
    });

    it('logs the trace id in the worker', () => {
      const traceIds = new Set(jobLogs().map((line) => line.trace_id));

      expect(jobLogs().map((line) => line.msg)).toEqual(['Job started', 'Job completed']);
      expect([...traceIds]).toEqual([caller.traceId]);
    });

    it('logs the job span id in the worker', () => {
      const spanIds = new Set(jobLogs().map((line) => line.span_id));

      expect([...spanIds]).toEqual([jobSpan().spanId]);
    });
  });

  describe('metrics', () => {
    it('measures the request by route', () => {
      const labels = {
        http_route: '/v1/export',
        http_request_method: 'POST',
        http_response_status_code: '202',
      };

      expect(sampleValue(apiMetrics, 'export_http_duration_count', labels)).toBe(1);
    });

    it('labels the HTTP semconv metric with the route', () => {
      const labels = { http_route: '/v1/export', http_request_method: 'POST' };

      expect(sampleValue(apiMetrics, 'http_server_request_duration_count', labels)).toBe(1);
    });

    it('counts the completed job', () => {
      const labels = { job: 'build-export', outcome: 'completed' };

      expect(sampleValue(workerMetrics, 'export_jobs_total', labels)).toBe(1);
    });

    it('counts the exported bytes', () => {
      expect(final.zip?.size).toBeGreaterThan(6 * MiB);
      expect(sampleValue(workerMetrics, 'export_bytes_exported_total', {})).toBe(final.zip?.size);
    });
  });
});

describe('telemetry without an OTLP endpoint', () => {
  const caller = { traceId: randomHex(16), spanId: randomHex(8) };

  let api: ServiceProcess;
  let created: Response;
  let metrics: Response;
  let apiExit: ExitStatus;

  beforeAll(async () => {
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    api = spawnServiceProcess('api', {
      ...testServices.env,
      REDIS_PREFIX: `test_${randomHex(6)}`,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      LOG_LEVEL: 'info',
    });
    await waitForHealthy(`${url}/health`, api);

    created = await fetch(`${url}/v1/export`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        traceparent: `00-${caller.traceId}-${caller.spanId}-01`,
      },
      body: JSON.stringify({ file_ids: [sources[0]!.fileId] }),
    });
    await created.arrayBuffer();
    metrics = await fetch(`${url}/metrics`);
    await metrics.arrayBuffer();
    apiExit = await api.stop();
  });

  afterAll(async () => {
    await api?.stop();
  });

  const requestLog = () => findRequestLog(api, created);

  it('accepts an export', () => {
    expect(created.status).toBe(202);
  });

  it('returns the incoming trace id', () => {
    expect(created.headers.get('traceparent')?.split('-')[1]).toBe(caller.traceId);
  });

  it('logs the trace id', () => {
    expect(requestLog()?.trace_id).toBe(caller.traceId);
  });

  it('still serves metrics', () => {
    expect(metrics.status).toBe(200);
  });

  it('starts telemetry without warnings', () => {
    expect(api.outputTail()).not.toContain('Telemetry not started');
  });

  it('logs no errors', () => {
    const errors = api.logs.filter((line) => typeof line.level === 'number' && line.level >= 50);

    expect(errors).toEqual([]);
  });

  it('exits with 0 on SIGTERM', () => {
    expect(apiExit).toEqual({ code: 0, signal: null });
  });
});

describe('telemetry with ratio sampling', () => {
  const caller = { traceId: randomHex(16), spanId: randomHex(8) };

  let receiver: OtlpReceiver;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let created: Response;
  let createdBody: CreatedExport;
  let final: ExportSnapshot;
  let sampledStatus: Response;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const apiPort = await findFreePort();
    const metricsPort = await findFreePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const env = {
      ...testServices.env,
      REDIS_PREFIX: `test_${randomHex(6)}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    // A ratio of 0 keeps no trace that starts in the API. The worker keeps the default, which
    // samples every trace that starts there, so only the parent's flag can keep its job
    // spans out.
    api = spawnServiceProcess('api', {
      ...env,
      API_PORT: String(apiPort),
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    worker = spawnServiceProcess('worker', { ...env, METRICS_PORT: String(metricsPort) });
    await waitForHealthy(`${apiUrl}/health`, api);
    await waitForHealthy(`http://127.0.0.1:${metricsPort}/health`, worker);

    created = await fetch(`${apiUrl}/v1/export`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ file_ids: [sources[2]!.fileId] }),
    });
    createdBody = (await created.json()) as CreatedExport;
    final = await waitForEnd(apiUrl, createdBody.jobId);
    await worker.waitForLog(
      (line) => line.jobId === createdBody.jobId && line.msg === 'Job completed',
      `"Job completed" line for job ${createdBody.jobId}`,
    );

    sampledStatus = await fetch(`${apiUrl}/v1/export/${createdBody.jobId}`, {
      headers: { traceparent: `00-${caller.traceId}-${caller.spanId}-01` },
    });
    await sampledStatus.arrayBuffer();
    await Promise.all([api.stop(), worker.stop()]);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await receiver?.stop();
  });

  const traceparentOf = (response: Response) => response.headers.get('traceparent')?.split('-');
  const createdTraceId = () => traceparentOf(created)?.[1];

  it('builds the export', () => {
    expect(final.status).toBe('completed');
  });

  it('marks a new trace unsampled', () => {
    expect(createdTraceId()).toMatch(/^[0-9a-f]{32}$/);
    expect(traceparentOf(created)?.[3]).toBe('00');
  });

  it('exports no span of it from either process', () => {
    const spans = receiver.spans.filter((span) => span.traceId === createdTraceId());

    expect(spans).toEqual([]);
  });

  it('still exports the worker\'s own traces', () => {
    const workerSpans = receiver.spans.filter((span) => span.serviceName === 'export-worker');

    expect(workerSpans.length).toBeGreaterThan(0);
  });

  it('still logs its trace id in both processes', () => {
    const jobLogs = worker.logs.filter((line) => line.jobId === createdBody.jobId);
    const traceIds = new Set(jobLogs.map((line) => line.trace_id));

    expect(findRequestLog(api, created)?.trace_id).toBe(createdTraceId());
    expect([...traceIds]).toEqual([createdTraceId()]);
  });

  it('follows a sampled parent', () => {
    const serverSpans = receiver.spans.filter(
      (span) => span.kind === SpanKind.server && span.traceId === caller.traceId,
    );

    expect(traceparentOf(sampledStatus)?.[3]).toBe('01');
    expect(serverSpans).toHaveLength(1);
  });
});

/** Returns the access log line of the request that got `response`, found by its request id. */
function findRequestLog(owner: ServiceProcess, response: Response): LogLine | undefined {
  const requestId = response.headers.get('x-request-id');

  return owner.logs.find((line) => line.requestId === requestId && line.msg === 'Request handled');
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Returns the value of the first sample of `name` whose labels include `labels`, in the
 * Prometheus text format, or undefined when there is none.
 */
function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!sample || sample[1] !== name) continue;

    const present = new Map<string, string>();
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const label of (sample[2] ?? '').matchAll(labelPattern)) {
      present.set(label[1]!, label[2]!);
    }
    const matches = Object.entries(labels).every(([key, value]) => present.get(key) === value);
    if (matches) return Number(sample[3]);
  }

  return undefined;
}
