/** Starts the API server and the worker host on built services; shared by every entry point. */
import { serve, type ServerType } from '@hono/node-server';

import { httpFunctions, jobFunctions } from '../functions/index.js';
import type { Logger } from './contract/define.js';
import type { Config } from './config.js';
import type { Services } from './dependencies.js';
import { createHttpApp } from './hosts/http/app.js';
import { parseTrustedProxies } from './hosts/http/client-address.js';
import { createDashboard, dashboardPath } from './hosts/http/dashboard.js';
import { docsRoutes } from './hosts/http/docs.js';
import { buildOpenApi } from './openapi.js';
import { startWorkerHost, type WorkerHost } from './hosts/worker-host.js';
import { getTelemetry } from './telemetry/current.js';
import { metricsResponse, startMetricsServer } from './telemetry/metrics-endpoint.js';

/** The version the OpenAPI document states. */
const serviceVersion = '0.1.0';

/** A started process part that can be stopped. */
export interface Running {
  close(): Promise<void>;
}

/** Listens on the configured host and port and resolves once the port is open. */
export async function startApi(
  config: Readonly<Config>,
  services: Services,
  logger: Logger,
): Promise<Running & { url: string }> {
  const shutdown = new AbortController();
  const app = createHttpApp(httpFunctions, {
    deps: services.deps,
    logger,
    maxBodyBytes: config.api.maxBodyBytes,
    sseHeartbeatMs: config.api.sseHeartbeatMs,
    extraRoutes: [
      { path: '/metrics', handler: metricsResponse },
      ...docsRoutes(buildOpenApi(httpFunctions, serviceVersion)),
    ],
    adminApps: [{ path: dashboardPath, app: createDashboard([services.bullQueue.queue]) }],
    adminOwners: config.auth.adminOwners,
    rateLimiter: services.rateLimiter,
    trustedProxies: parseTrustedProxies(config.api.trustedProxies),
    shutdown: shutdown.signal,
    ...(config.auth.enabled
      ? { auth: { apiKeys: services.apiKeys, readTokens: services.readTokens } }
      : {}),
  });

  const server = await new Promise<ServerType>((resolve, reject) => {
    const started = serve(
      { fetch: app.fetch, hostname: config.api.host, port: config.api.port },
      () => resolve(started),
    );
    started.once('error', reject);
  });
  // Longer than nginx's upstream keepalive (60 s), so Node never closes a socket that nginx is
  // about to reuse, which would cost that request a 502.
  (server as { keepAliveTimeout?: number }).keepAliveTimeout = 65_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.api.port;
  const url = `http://${config.api.host}:${port}`;
  logger.info({ url }, 'API listening');

  return { url, close: () => stopServer(server, shutdown, config.api.shutdownTimeoutMs, logger) };
}

/**
 * Stops accepting connections, sends SSE clients a reconnect event, lets open requests finish, and
 * closes whatever is still open when the deadline passes.
 */
async function stopServer(
  server: ServerType,
  shutdown: AbortController,
  deadlineMs: number,
  logger: Logger,
): Promise<void> {
  const http = server as ServerType & {
    closeIdleConnections?: () => void;
    closeAllConnections?: () => void;
  };
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  shutdown.abort();
  http.closeIdleConnections?.();

  const timer = setTimeout(() => {
    logger.warn({ deadlineMs }, 'Shutdown deadline passed; closing open connections');
    http.closeAllConnections?.();
  }, deadlineMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts one BullMQ worker per queue with the configured concurrency, and moves owner indexes
 * of earlier releases in the background.
 */
export function startWorker(config: Readonly<Config>, services: Services, logger: Logger): WorkerHost {
  void moveOwnerIndexes(services, logger);
  return startWorkerHost(jobFunctions, {
    deps: services.deps,
    logger,
    connection: services.workerConnection(),
    prefix: `${config.redisPrefix}:bull`,
    concurrency: config.jobs.concurrency,
    lockDurationMs: config.jobs.lockMs,
    telemetry: services.queueTelemetry,
  });
}

/** Serves the worker's `/metrics` and `/health` on the metrics port, unless it is 0. */
export async function startWorkerMetrics(
  config: Readonly<Config>,
  worker: WorkerHost,
  logger: Logger,
): Promise<Running> {
  const { metricsPort } = config.telemetry;
  if (metricsPort === 0) return { close: async () => {} };

  const isHealthy = () => worker.workers.every((w) => w.isRunning());
  const server = await startMetricsServer(config.api.host, metricsPort, isHealthy);
  logger.info({ port: metricsPort }, 'Worker metrics listening');

  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * Exports in old-style owner indexes are missing from listings and from the active-export cap
 * until they move, so every worker start tries. A failure leaves them for the next start.
 */
async function moveOwnerIndexes(services: Services, logger: Logger): Promise<void> {
  try {
    const moved = await services.migrateOwnerIndexes();
    if (moved > 0) logger.info({ moved }, 'Moved owner indexes to the current key names');
  } catch (error) {
    logger.error({ err: error }, 'Moving owner indexes failed; the next worker start retries');
  }
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'Stopping');
    stop()
      // Spans of the last job would be lost without a flush before exit.
      .then(() => getTelemetry()?.shutdown())
      .then(() => {
        logger.info({ signal }, 'Stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'Stopping failed');
        process.exit(1);
      });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
