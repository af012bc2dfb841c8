/**
 * Starts OpenTelemetry for one process: traces to OTLP/HTTP when an endpoint is configured,
 * metrics for Prometheus, and the auto-instrumentations (HTTP, fetch, ioredis, AWS SDK, pino).
 */
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

import type { TelemetrySettings } from '../config.js';

/** Paths polled by load balancers and Prometheus. */
const untracedPaths = new Set(['/health', '/metrics']);

/** The running SDK. */
export interface Telemetry {
  /** Serves the metrics in Prometheus text format; it opens no port of its own. */
  prometheus: PrometheusExporter;
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Keeps a tracer provider registered when nothing is exported, so that trace ids still reach
 * logs and `traceparent` response headers. The SDK registers none for an empty processor list.
 */
class DiscardingSpanProcessor implements SpanProcessor {
  onStart(): void {}
  onEnd(): void {}
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** Starts the SDK; call it before any instrumented module is imported. */
export function startTelemetry(settings: TelemetrySettings, serviceName: string): Telemetry {
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const exporter = settings.otlpEndpoint
    ? new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })
    : undefined;

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName ?? serviceName }),
    spanProcessors: [exporter ? new BatchSpanProcessor(exporter) : new DiscardingSpanProcessor()],
    metricReaders: [prometheus],
    // Logs go to stdout as JSON lines; without this the SDK would also send them over OTLP,
    // which Jaeger does not accept.
    logRecordProcessors: [],
    instrumentations: [
      getNodeAutoInstrumentations({
        // File-system, DNS and socket spans would bury the export's own spans.
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        // Only the local S3 emulator uses Koa; its middleware spans are noise.
        '@opentelemetry/instrumentation-koa': { enabled: false },
        // Probes and scrapes every few seconds would each make a trace of their own.
        '@opentelemetry/instrumentation-http': {
          ignoreIncomingRequestHook: (request) => untracedPaths.has(request.url ?? ''),
          // Read tokens travel in the query string, since EventSource cannot send headers.
          redactedQueryParamsServer: ['token'],
          // Presigned URLs carry their signature in the query string.
          redactedQueryParams: ['X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token'],
        },
      }),
    ],
  });
  sdk.start();

  return { prometheus, shutdown: () => sdk.shutdown() };
}
