/**
 * The HTTP host: mounts every HTTP and SSE function on a Hono app. It maps the request onto
 * the function's input, calls the handler with the shared dependencies, and turns every
 * thrown error into a JSON response through the one error mapping.
 */
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';

import type { AnyHttpFunction, BaseContext, Logger } from '../../contract/define.js';
import { HttpError } from '../../contract/errors.js';
import { toErrorResponse } from '../../error-mapping.js';
import { activeTelemetry } from '../../telemetry/instruments.js';
import { type HostEnv, nameServerSpan, observeRequests } from './observe.js';
import { respondWithSse } from './sse.js';
import { parseJsonBody, type RawInput, validateInput } from './validation.js';

/** What the host needs besides the functions. */
export interface HttpHostOptions {
  /** One object holding every dependency any mounted function declares. */
  deps: unknown;
  logger: Logger;
  maxBodyBytes: number;
  sseHeartbeatMs: number;
  /** Host-level GET routes that are not functions, such as `/metrics`. */
  extraRoutes?: ReadonlyArray<{ path: string; handler: (c: Context) => Response | Promise<Response> }>;
}

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

  app.use(cors({ origin: '*', exposeHeaders: exposedHeaders, maxAge: 600 }));
  app.use(observeRequests(options.logger));
  for (const route of options.extraRoutes ?? []) app.get(route.path, route.handler);

  for (const fn of functions) mount(app, fn, options);

  app.notFound((c) => c.json(notFoundBody(c), 404));
  app.onError((error, c) => respondWithError(c, error));

  return app;
}

function mount(app: Hono<Env>, fn: AnyHttpFunction, options: HttpHostOptions): void {
  const limit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: () => {
      throw new HttpError(
        413,
        'payload_too_large',
        `The request body is larger than ${options.maxBodyBytes} bytes`,
      );
    },
  });

  for (const path of fn.paths) {
    app.on(fn.method, path, limit, async (c) => {
      nameServerSpan(fn.method, path);
      const controller = new AbortController();
      c.req.raw.signal.addEventListener('abort', () => controller.abort(), { once: true });
      const jobId = c.req.param('id');
      const context: BaseContext = {
        logger: c.get('logger').child({ function: fn.name, ...(jobId ? { jobId } : {}) }),
        signal: controller.signal,
        requestId: c.get('requestId'),
        telemetry: activeTelemetry(),
      };
      const input = validateInput(fn.input, await readRawInput(c, fn.method));

      if (fn.kind === 'sse') {
        const frames = fn.handler(input, options.deps, context);
        const onError = (error: unknown) =>
          context.logger.error({ err: error }, 'SSE stream failed after it started');
        return respondWithSse(c, frames, {
          heartbeatMs: options.sseHeartbeatMs,
          controller,
          onError,
        });
      }

      try {
        const result = await fn.handler(input, options.deps, context);
        return c.json(result.body as object, result.status as 200, result.headers);
      } finally {
        controller.abort();
      }
    });
  }
}

async function readRawInput(c: Context<Env>, method: string): Promise<RawInput> {
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, name) => {
    headers[name] = value;
  });

  const hasBody = method === 'POST' || method === 'PUT';
  const body = hasBody ? parseJsonBody(c.req.header('content-type'), await c.req.text()) : undefined;

  return { params: c.req.param() as Record<string, string>, query: c.req.query(), headers, body };
}

function respondWithError(c: Context<Env>, error: unknown): Response {
  const response = toErrorResponse(error);
  if (response.unexpected) {
    c.get('logger').error({ err: error, path: c.req.path }, 'Request failed unexpectedly');
  }

  return c.json(response.body, response.status as 500, response.headers);
}

function notFoundBody(c: Context<Env>) {
  return {
    error: { code: 'not_found', message: `No endpoint answers ${c.req.method} ${c.req.path}` },
  };
}
