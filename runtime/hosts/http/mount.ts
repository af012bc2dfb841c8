/** Mounts one function on the Hono app: limits, input mapping, the call and its response. */
import type { IncomingMessage } from 'node:http';

import type { Context, Hono } from 'hono';

import type { AnyHttpFunction, HttpContext } from '../../contract/define.js';
import { activeTelemetry } from '../../telemetry/instruments.js';
import type { HttpHostOptions } from './options.js';
import { authorize } from './auth.js';
import { limitBody } from './body-limit.js';
import { type HostEnv, nameServerSpan } from './observe.js';
import { requestEnded, respondWithSse } from './sse.js';
import { parseJsonBody, type RawInput, validateInput } from './validation.js';

/** Registers `fn` under each of its paths. */
export function mountFunction(
  app: Hono<HostEnv>,
  fn: AnyHttpFunction,
  options: HttpHostOptions,
): void {
  const bodyLimits = limitBody(options.maxBodyBytes);

  for (const path of fn.paths) {
    app.on(fn.method, path, bodyLimits, async (c) => {
      nameServerSpan(fn.method, path);
      return invoke(c, fn, options);
    });
  }
}

async function invoke(c: Context<HostEnv>, fn: AnyHttpFunction, options: HttpHostOptions) {
  const jobId = c.req.param('id');
  const owner = authorize(fn, c.get('principal'), jobId);
  const logger = c.get('logger').child({ function: fn.name, ...(jobId ? { jobId } : {}) });
  const base = { owner, logger, requestId: c.get('requestId'), telemetry: activeTelemetry() };
  const input = validateInput(fn.input, await readRawInput(c, fn));

  if (fn.kind === 'sse') return streamFunction(c, fn, input, base, options);

  const request = lazyRequestSignal(c);
  const context: HttpContext = {
    ...base,
    get signal() {
      return request.signal();
    },
  };
  try {
    const result = await fn.handler(input, options.deps, context);
    if (result.body === undefined) return c.body(null, result.status as 200, result.headers);

    return c.json(result.body as object, result.status as 200, result.headers);
  } finally {
    request.end();
  }
}

/**
 * Makes the function's abort signal on first use. It aborts when the client goes away or when
 * the response is ready. Most functions never read it, and each controller, listener and
 * abort costs time on every request.
 */
function lazyRequestSignal(c: Context<HostEnv>) {
  let controller: AbortController | undefined;

  return {
    signal(): AbortSignal {
      controller ??= linkedController(c.req.raw.signal);
      return controller.signal;
    },
    end(): void {
      controller?.abort(requestEnded);
    },
  };
}

/**
 * Returns a controller that the client's signal aborts. The listener goes once the controller
 * aborts, so the client's signal holds no reference to this request.
 */
function linkedController(clientSignal: AbortSignal): AbortController {
  const controller = new AbortController();
  // A function may read its signal first after the client has already gone.
  if (clientSignal.aborted) {
    controller.abort(requestEnded);
    return controller;
  }

  const onClientGone = () => controller.abort(requestEnded);
  clientSignal.addEventListener('abort', onClientGone, { once: true });
  controller.signal.addEventListener(
    'abort',
    () => clientSignal.removeEventListener('abort', onClientGone),
    { once: true },
  );

  return controller;
}

/** Runs an SSE function with a signal that also aborts when the stream ends for any reason. */
function streamFunction(
  c: Context<HostEnv>,
  fn: AnyHttpFunction & { kind: 'sse' },
  input: unknown,
  base: Omit<HttpContext, 'signal'>,
  options: HttpHostOptions,
) {
  const controller = linkedController(c.req.raw.signal);
  const context: HttpContext = { ...base, signal: controller.signal };
  const frames = fn.handler(input as never, options.deps, context);
  const onError = (error: unknown) =>
    context.logger.error({ err: error }, 'SSE stream failed after it started');

  return respondWithSse(c, frames, {
    heartbeatMs: options.sseHeartbeatMs,
    controller,
    onError,
    ...(options.shutdown ? { shutdown: options.shutdown } : {}),
  });
}

async function readRawInput(c: Context<HostEnv>, fn: AnyHttpFunction): Promise<RawInput> {
  const headers = readHeaders(c);

  const hasBody = fn.method === 'POST' || fn.method === 'PUT';
  const text = hasBody ? await c.req.text() : '';
  const skipBody = !hasBody || (fn.acceptsEmptyBody === true && text.trim() === '');
  const body = skipBody ? undefined : parseJsonBody(c.req.header('content-type'), text);

  return { params: c.req.param() as Record<string, string>, query: c.req.query(), headers, body };
}

/**
 * Returns the request headers by lower-case name. On Node the incoming message already contains
 * them, and reading `c.req.raw.headers` would build a `Headers` object for every request.
 */
function readHeaders(c: Context<HostEnv>): Record<string, string> {
  const headers: Record<string, string> = {};
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) {
    // Node keeps repeated headers as an array only for set-cookie, which no function reads.
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (typeof value === 'string') headers[name] = value;
    }
    return headers;
  }

  c.req.raw.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}
