/** The request body size limit, checked from Content-Length where the client sent one. */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

import { HttpError } from '../../contract/errors.js';

/**
 * Rejects bodies over `maxBytes` with 413. Hono's `bodyLimit` reads `c.req.raw.body` first,
 * which makes @hono/node-server build a whole undici `Request` for every request, bodiless
 * GETs included. A declared length is therefore checked here, and only a body without one
 * (chunked, or a `Request` built in-process) goes through `bodyLimit`.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    const message = `The request body is larger than ${maxBytes} bytes`;
    throw new HttpError(413, 'payload_too_large', message);
  };
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge });

  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();

    const declared = c.req.header('content-length');
    const chunked = c.req.header('transfer-encoding') !== undefined;
    if (declared === undefined || chunked) return streamed(c, next);
    if (Number(declared) > maxBytes) tooLarge();

    return next();
  };
}
