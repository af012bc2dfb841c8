/** Renders the process's metrics in Prometheus text format, for `/metrics`. */
import { createServer, type Server } from 'node:http';

import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';

import { getTelemetry } from './current.js';

const serializer = new PrometheusSerializer();

/** Returns the metrics text, or undefined when the process runs without telemetry. */
export async function renderMetrics(): Promise<string | undefined> {
  const telemetry = getTelemetry();
  if (!telemetry) return undefined;

  const { resourceMetrics } = await telemetry.prometheus.collect();

  return serializer.serialize(resourceMetrics);
}

/** Responds to the API's `/metrics` route. */
export async function metricsResponse(): Promise<Response> {
  const text = await renderMetrics();
  if (text === undefined) return new Response('Telemetry is not started\n', { status: 503 });

  return new Response(text, { headers: { 'Content-Type': 'text/plain; version=0.0.4' } });
}

/**
 * Starts the worker's own listener for `/metrics` and `/health`, since the worker serves no
 * HTTP otherwise. `isHealthy` decides the health status.
 */
export async function startMetricsServer(
  host: string,
  port: number,
  isHealthy: () => boolean,
): Promise<Server> {
  const server = createServer((request, response) => {
    void answer(request.url ?? '/', isHealthy).then(({ status, type, body }) => {
      response.writeHead(status, { 'Content-Type': type }).end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });

  return server;
}

async function answer(url: string, isHealthy: () => boolean) {
  if (url === '/health') {
    const healthy = isHealthy();
    const body = JSON.stringify({ status: healthy ? 'healthy' : 'unhealthy' });
    return { status: healthy ? 200 : 503, type: 'application/json', body };
  }
  if (url === '/metrics') {
    const text = await renderMetrics();
    if (text !== undefined) return { status: 200, type: 'text/plain; version=0.0.4', body: text };
    return { status: 503, type: 'text/plain', body: 'Telemetry is not started\n' };
  }

  return { status: 404, type: 'text/plain', body: 'Not found\n' };
}
