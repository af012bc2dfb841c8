/**
 * The one way this service streams Server-Sent Events: pull the first frame before the
 * headers go out, write frames and heartbeats, and always clean up when the client leaves.
 */
import type { Context } from 'hono';

import type { SseFrame } from '../../contract/define.js';
import { instruments } from '../../telemetry/instruments.js';
import { nodeResponseOf, SseBody } from './sse-body.js';
import { encodeFrame, formatMessage } from './sse-format.js';

/**
 * The one reason every request's controller is aborted with when the request ends. A new
 * DOMException per request captured a stack that, through undici's request finalizer, kept
 * every request's context alive: the API leaked about 25 KiB per request.
 */
export const requestEnded = new DOMException('The request has ended', 'AbortError');

/** Options of one SSE response. */
export interface SseOptions {
  heartbeatMs: number;
  /** Aborted by the host when the client goes away; aborting it ends the function's loop. */
  controller: AbortController;
  /** Aborted when the process is stopping; the client is sent a reconnect event. */
  shutdown?: AbortSignal;
  onError: (error: unknown) => void;
}

/**
 * Responds with the frames of `frames`. A failure before the first frame propagates, so the
 * host's error handler answers it; a function that yields nothing gets 204, which tells
 * EventSource not to reconnect.
 */
export async function respondWithSse(
  c: Context,
  frames: AsyncGenerator<SseFrame, void>,
  options: SseOptions,
): Promise<Response> {
  let first: IteratorResult<SseFrame, void>;
  try {
    first = await frames.next();
  } catch (error) {
    options.controller.abort(requestEnded);
    throw error;
  }
  if (first.done) {
    options.controller.abort(requestEnded);
    return c.body(null, 204);
  }

  // Hono runs the GET handler for HEAD and drops its body unread, so a stream would never see
  // its client leave and would keep its subscription.
  if (c.req.method === 'HEAD') {
    options.controller.abort(requestEnded);
    await frames.return(undefined);
    return c.body(null, 200, sseHeaders);
  }

  const body = new SseBody(nodeResponseOf(c), options.controller.signal, () =>
    options.controller.abort(requestEnded),
  );
  void sendFrames(body, first.value, frames, options);

  return c.body(body.stream, 200, sseHeaders);
}

const sseHeaders = {
  'Content-Type': 'text/event-stream',
  // Proxies that compress or transform responses would hold frames back.
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  // @hono/node-server streams a chunked response at once instead of reading ahead to measure it.
  'Transfer-Encoding': 'chunked',
  // nginx buffers proxied responses unless this header turns that off, holding frames back.
  'X-Accel-Buffering': 'no',
};

/** Writes the frames and heartbeats until the frames end or the client leaves, then cleans up. */
async function sendFrames(
  body: SseBody,
  first: SseFrame,
  frames: AsyncGenerator<SseFrame, void>,
  options: SseOptions,
): Promise<void> {
  const heartbeat = setInterval(() => void body.write(heartbeatBytes), options.heartbeatMs);
  instruments.sseConnections.add(1);
  const onShutdown = () => void tellToReconnect(body, options.controller);
  options.shutdown?.addEventListener('abort', onShutdown, { once: true });

  try {
    await body.write(encodeFrame(first));
    for (let next = await frames.next(); !next.done; next = await frames.next()) {
      if (body.closed) break;

      const backpressure = body.write(encodeFrame(next.value));
      if (backpressure) await backpressure;
    }
  } catch (error) {
    options.onError(error);
  } finally {
    instruments.sseConnections.add(-1);
    options.shutdown?.removeEventListener('abort', onShutdown);
    clearInterval(heartbeat);
    options.controller.abort(requestEnded);
    body.end();
    await frames.return(undefined);
  }
}

const heartbeatBytes = new TextEncoder().encode(': heartbeat\n\n');

/** Milliseconds EventSource waits before it reconnects after a shutdown. */
const reconnectDelayMs = 1_000;

/**
 * Sends a `reconnect` event with a short retry delay, then ends the stream. EventSource then
 * reconnects on its own, through the proxy, to a process that is not stopping.
 */
async function tellToReconnect(body: SseBody, controller: AbortController) {
  try {
    await body.write(formatMessage({ event: 'reconnect', data: '{}', retry: reconnectDelayMs }));
  } finally {
    controller.abort(requestEnded);
  }
}
