/**
 * The security and CORS headers of every response. Hono's `secureHeaders` and `cors` set them
 * on `c.res.headers`, and touching that makes @hono/node-server build a full undici `Response`
 * for every request: bench/experiments/hono-headers.ts measured bare Hono at 0.29 × its own
 * rate with both. Headers set with `c.header()` before the handler runs go into the response
 * that Hono builds anyway, which kept 0.74 × in the same experiment.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * The headers of Hono's `secureHeaders()` with its default options (Hono 4.13), which this
 * host used before: no CSP, and a Referrer-Policy that keeps job ids out of other sites' logs.
 */
const securityHeaders: readonly [string, string][] = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

/**
 * Sets the security headers and, for any origin, the CORS headers of a simple request.
 * Preflights (OPTIONS) go to Hono's `cors`, which responds to them with 204.
 */
export function responseHeaders(exposedHeaders: readonly string[]): MiddlewareHandler {
  const headers: [string, string][] = [
    ...securityHeaders,
    ['Access-Control-Allow-Origin', '*'],
    ['Access-Control-Expose-Headers', exposedHeaders.join(',')],
  ];
  const preflight = cors({ origin: '*', exposeHeaders: [...exposedHeaders], maxAge: 600 });

  return async (c, next) => {
    for (const [name, value] of headers) c.header(name, value);
    if (c.req.method === 'OPTIONS') return preflight(c, next);

    await next();
    // A handler that returns its own Response, such as a static file of the dashboard, skips
    // the prepared headers, so they are copied onto it here.
    if (c.res.headers.has('X-Content-Type-Options')) return;
    for (const [name, value] of headers) c.res.headers.set(name, value);
  };
}
