/** Mounts one function on the Hono app: limits, input mapping, the call and its response. */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';

import type { AnyHttpFunction, HttpContext } from '../../contract/define.js';
import { HttpError } from '../../contract/errors.js';
import { activeTelemetry } from '../../telemetry/instruments.js';
import type { HttpHostOptions } from './options.js';
import { authorize } from './auth.js';
import { type HostEnv, nameServerSpan } from './observe.js';
import { requestEnded, respondWithSse } from './sse.js';
import { parseJsonBody, type RawInput, validateInput } from './validation.js';

/** Registers `fn` under each of its paths. */
export function mountFunction(
  app: Hono<HostEnv>,
  fn: AnyHttpFunction,
  options: HttpHostOptions,
): void {
  const bodyLimits = bodyLimit({
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
    app.on(fn.method, path, bodyLimits, async (c) => {
      nameServerSpan(fn.method, path);
      return invoke(c, fn, options);
    });
  }
}

async function invoke(c: Context<HostEnv>, fn: AnyHttpFunction, options: HttpHostOptions) {
  const controller = new AbortController();
  const clientSignal = c.req.raw.signal;
  const onClientGone = () => controller.abort(requestEnded);
  clientSignal.addEventListener('abort', onClientGone, { once: true });
  // Removed when the request ends, so the client's signal holds no reference to this request.
  controller.signal.addEventListener(
    'abort',
    () => clientSignal.removeEventListener('abort', onClientGone),
    { once: true },
  );
  const jobId = c.req.param('id');
  const owner = authorize(fn, c.get('principal'), jobId);
  const context: HttpContext = {
    owner,
    logger: c.get('logger').child({ function: fn.name, ...(jobId ? { jobId } : {}) }),
    signal: controller.signal,
    requestId: c.get('requestId'),
    telemetry: activeTelemetry(),
  };
  const input = validateInput(fn.input, await readRawInput(c, fn));

  if (fn.kind === 'sse') {
    const frames = fn.handler(input, options.deps, context);
    const onError = (error: unknown) =>
      context.logger.error({ err: error }, 'SSE stream failed after it started');
    return respondWithSse(c, frames, {
      heartbeatMs: options.sseHeartbeatMs,
      controller,
      onError,
      ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    });
  }

  try {
    const result = await fn.handler(input, options.deps, context);
    if (result.body === undefined) return c.body(null, result.status as 200, result.headers);

    return c.json(result.body as object, result.status as 200, result.headers);
  } finally {
    controller.abort(requestEnded);
  }
}

async function readRawInput(c: Context<HostEnv>, fn: AnyHttpFunction): Promise<RawInput> {
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, name) => {
    headers[name] = value;
  });

  const hasBody = fn.method === 'POST' || fn.method === 'PUT';
  const text = hasBody ? await c.req.text() : '';
  const skipBody = !hasBody || (fn.acceptsEmptyBody === true && text.trim() === '');
  const body = skipBody ? undefined : parseJsonBody(c.req.header('content-type'), text);

  return { params: c.req.param() as Record<string, string>, query: c.req.query(), headers, body };
}
