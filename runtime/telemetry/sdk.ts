/**
 * Starts OpenTelemetry for one process: traces to OTLP/HTTP when an endpoint is configured,
 * metrics for Prometheus, and the instrumentations of the libraries the service calls. The
 * providers are built here rather than through `NodeSDK`, which loads exporters for every
 * protocol and signal.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  type Resource,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  NoopSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

import type { TelemetrySettings } from '../config.js';
import { createInstrumentations } from './instrumentations.js';
import { createSampler } from './sampler.js';

/** The running SDK. */
export interface Telemetry {
  /** Serves the metrics in Prometheus text format; it opens no port of its own. */
  prometheus: PrometheusExporter;
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Starts the SDK; call it before any instrumented module is imported. */
export function startTelemetry(settings: TelemetrySettings, serviceName: string): Telemetry {
  const resource = detectResource(settings.serviceName ?? serviceName);
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ resource, readers: [prometheus] });
  const tracerProvider = createTracerProvider(settings, resource);

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  registerInstrumentations({
    instrumentations: createInstrumentations(),
    tracerProvider,
    meterProvider,
  });

  return {
    prometheus,
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/**
 * Names the service, with the attributes of `OTEL_RESOURCE_ATTRIBUTES`, the process and the
 * host, as `NodeSDK` detects them by default.
 */
function detectResource(serviceName: string): Resource {
  const detected = detectResources({ detectors: [envDetector, processDetector, hostDetector] });

  return resourceFromAttributes({ 'service.name': serviceName }).merge(detected);
}

function createTracerProvider(
  settings: TelemetrySettings,
  resource: Resource,
): BasicTracerProvider {
  const exporter = settings.otlpEndpoint
    ? new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })
    : undefined;

  return new BasicTracerProvider({
    resource,
    sampler: createSampler(settings.sampler),
    // Without an exporter the provider still creates spans, so that trace ids reach logs and
    // `traceparent` response headers, and discards them when they end.
    spanProcessors: [exporter ? new BatchSpanProcessor(exporter) : new NoopSpanProcessor()],
  });
}
