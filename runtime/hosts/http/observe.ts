/**
 * Request-level observability for the HTTP host: request ids, the route on the server span,
 * the `traceparent` response header, the duration metric and one access log line.
 */
import { randomUUID } from 'node:crypto';

import { context, propagation, trace } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { Context, MiddlewareHandler } from 'hono';

import type { Logger } from '../../contract/define.js';
import type { HttpError } from '../../contract/errors.js';
import type { Principal } from './auth.js';
import { instruments } from '../../telemetry/instruments.js';

/** Variables the host keeps per request. */
export type HostEnv = {
  Variables: {
    requestId: string;
    logger: Logger;
    client: string;
    principal: Principal | null;
    /** A wrong key or token, rejected with 401 once the request is counted. */
    credentialError?: HttpError;
  };
};

/** Request ids a client may send; anything else is replaced so logs stay clean. */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Sets the request id, the client address and the logger, then logs and measures the request
 * once the response is ready.
 */
export function observeRequests(
  logger: Logger,
  clientOf: (c: Context) => string,
): MiddlewareHandler<HostEnv> {
  return async (c, next) => {
    const startedAt = performance.now();
    const sent = c.req.header('x-request-id');
    const requestId = sent && requestIdPattern.test(sent) ? sent : randomUUID();
    const client = clientOf(c);
    c.set('requestId', requestId);
    c.set('client', client);
    c.set('logger', logger.child({ requestId, client }));
    c.header('X-Request-ID', requestId);
    setTraceparent(c);

    await next();

    const route = routeOf(c);
    const seconds = (performance.now() - startedAt) / 1000;
    const status = c.res.status;
    instruments.httpDuration.record(seconds, {
      'http.route': route,
      'http.request.method': c.req.method,
      'http.response.status_code': status,
    });
    c.get('logger').info(
      { method: c.req.method, route, status, durationMs: Math.round(seconds * 1000) },
      'Request handled',
    );
  };
}

/**
 * Names the server span after the matched route (`POST /v1/export`, not `POST`). The HTTP
 * instrumentation reads the route from the RPC metadata when the response ends, as it does
 * for Express.
 */
export function nameServerSpan(method: string, path: string): void {
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type === RPCType.HTTP) metadata.route = path;

  const span = trace.getActiveSpan();
  span?.updateName(`${method} ${path}`);
  span?.setAttribute('http.route', path);
}

function setTraceparent(c: Context<HostEnv>): void {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent) c.header('traceparent', carrier.traceparent);
}

function routeOf(c: Context<HostEnv>): string {
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type === RPCType.HTTP && metadata.route) return metadata.route;

  return 'unmatched';
}
