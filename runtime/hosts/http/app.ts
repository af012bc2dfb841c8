/**
 * The HTTP host: mounts every HTTP and SSE function on a Hono app. It maps the request onto
 * the function's input, calls the handler with the shared dependencies, and turns every
 * thrown error into a JSON response through the one error mapping.
 */
import type { BlockList } from 'node:net';

import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { matchedRoutes } from 'hono/route';

import type { AnyHttpFunction, Logger } from '../../contract/define.js';
import { HttpError } from '../../contract/errors.js';
import { toErrorResponse } from '../../error-mapping.js';
import { identify, rejectWrongCredentials } from './auth.js';
import { clientAddress } from './client-address.js';
import { allowedMethods } from './method-not-allowed.js';
import { mountFunction } from './mount.js';
import { type HostEnv, nameServerSpan, observeRequests } from './observe.js';
import type { HttpHostOptions } from './options.js';
import { type Budget, budgetKey, limitRate } from './rate-limit.js';
import { responseHeaders } from './response-headers.js';

export type { HttpHostOptions } from './options.js';

type Env = HostEnv;

/** Response headers that browsers may read across origins. */
const exposedHeaders = [
  'Location',
  'X-Request-ID',
  'traceparent',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];

/** Builds the Hono app for `functions`; it opens no port. */
export function createHttpApp(
  functions: readonly AnyHttpFunction[],
  options: HttpHostOptions,
): Hono<Env> {
  const app = new Hono<Env>();

  // Observed first, so that preflights and errors get request ids and access log lines too.
  app.use(observeRequests(options.logger, (c) => clientOf(c, options)));
  app.use(responseHeaders(exposedHeaders));
  for (const route of options.extraRoutes ?? []) {
    app.get(route.path, (c) => {
      nameServerSpan('GET', route.path);
      return route.handler(c);
    });
  }
  app.use(identify(options.auth));
  if (options.rateLimiter) {
    app.use(limitRate(options.rateLimiter, budgetsOf(functions), budgetKey));
  }
  app.use(rejectWrongCredentials());
  for (const admin of options.adminApps ?? []) {
    app.use(`${admin.path}/*`, requireAdmin(options));
    app.route(admin.path, admin.app);
  }

  for (const fn of functions) mountFunction(app, fn, options);

  app.notFound((c) => {
    const allowed = allowedMethods(functions, c.req.path);
    if (allowed.length === 0) return c.json(notFoundBody(c), 404);

    const message = `${c.req.path} accepts ${allowed.join(', ')}, not ${c.req.method}`;
    const headers = { Allow: allowed.join(', ') };
    return respondWithError(c, new HttpError(405, 'method_not_allowed', message, undefined, headers));
  });
  app.onError((error, c) => respondWithError(c, error));

  return app;
}

function respondWithError(c: Context<Env>, error: unknown): Response {
  const response = toErrorResponse(error);
  if (response.unexpected) {
    c.get('logger').error({ err: error, path: c.req.path }, 'Request failed unexpectedly');
  }

  return c.json(response.body, response.status as 500, response.headers);
}

/**
 * Picks the budgets a request draws on: none for preflights and paths of unlimited functions,
 * the read budget for the rest, and the create budget as well on routes of create functions.
 */
function budgetsOf(functions: readonly AnyHttpFunction[]) {
  const unlimited = new Set(functions.filter((fn) => fn.rateLimit === 'none').flatMap((fn) => fn.paths));
  const createRoutes = new Set(
    functions
      .filter((fn) => fn.rateLimit === 'create')
      .flatMap((fn) => fn.paths.map((path) => `${fn.method} ${path}`)),
  );
  const readOnly: readonly Budget[] = ['read'];
  const readAndCreate: readonly Budget[] = ['read', 'create'];

  return (c: Context<Env>): readonly Budget[] => {
    if (unlimited.has(c.req.path) || c.req.method === 'OPTIONS') return [];
    // Wrong credentials get their 401 before any handler runs, so no work is created.
    if (c.get('credentialError')) return readOnly;

    const routes = matchedRoutes(c);
    const creates = routes.some((route) => createRoutes.has(`${route.method} ${route.path}`));
    return creates ? readAndCreate : readOnly;
  };
}

/** With authentication on, lets only API keys of the admin owners through. */
function requireAdmin(options: HttpHostOptions) {
  return async (c: Context<Env>, next: () => Promise<void>) => {
    if (options.auth) {
      const principal = c.get('principal');
      if (!principal || principal.via !== 'api_key') {
        throw new HttpError(401, 'unauthorized', 'Send an admin API key as "Authorization: Bearer <key>"', 'Authorization', { 'WWW-Authenticate': 'Bearer realm="export-service"' });
      }
      if (!(options.adminOwners ?? []).includes(principal.owner)) {
        throw new HttpError(403, 'forbidden', `Owner ${principal.owner} is not an admin (ADMIN_OWNERS)`);
      }
    }
    await next();
  };
}

/** Returns the socket peer, or the forwarded client when the peer is a trusted proxy. */
function clientOf(c: Context, options: HttpHostOptions): string {
  const peer = (options.peerAddress ?? nodePeerAddress)(c);
  if (!options.trustedProxies) return peer ?? 'unknown';

  return clientAddress(peer, c.req.header('x-forwarded-for'), options.trustedProxies);
}

function nodePeerAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    // Requests made in-process with app.request() have no socket.
    return undefined;
  }
}

function notFoundBody(c: Context<Env>) {
  return {
    error: { code: 'not_found', message: `No endpoint matches ${c.req.method} ${c.req.path}` },
  };
}
