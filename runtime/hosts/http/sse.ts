/**
 * The one way this service streams Server-Sent Events: pull the first frame before the
 * headers go out, write frames and heartbeats, and always clean up when the client leaves.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

import type { SseFrame } from '../../contract/define.js';
import { instruments } from '../../telemetry/instruments.js';
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

  // nginx buffers proxied responses unless this header turns it off, which would hold every frame back.
  c.header('X-Accel-Buffering', 'no');

  const response = streamSSE(c, async (stream) => {
    const heartbeat = setInterval(() => void stream.write(': heartbeat\n\n'), options.heartbeatMs);
    stream.onAbort(() => options.controller.abort(requestEnded));
    instruments.sseConnections.add(1);
    const onShutdown = () => void tellToReconnect(stream, options.controller);
    options.shutdown?.addEventListener('abort', onShutdown, { once: true });

    try {
      await stream.write(encodeFrame(first.value));
      for (let next = await frames.next(); !next.done; next = await frames.next()) {
        if (stream.aborted) break;
        await stream.write(encodeFrame(next.value));
      }
    } catch (error) {
      options.onError(error);
    } finally {
      instruments.sseConnections.add(-1);
      options.shutdown?.removeEventListener('abort', onShutdown);
      clearInterval(heartbeat);
      options.controller.abort(requestEnded);
      await frames.return(undefined);
    }
  });
  // Set after streamSSE, which writes its own Cache-Control; compressing proxies must not
  // hold frames back either.
  c.res = response;
  c.header('Cache-Control', 'no-cache, no-transform');

  return c.res;
}

/** Milliseconds EventSource waits before it reconnects after a shutdown. */
const reconnectDelayMs = 1_000;

/**
 * Sends a `reconnect` event with a short retry delay, then ends the stream. EventSource then
 * reconnects on its own, through the proxy, to a process that is not stopping.
 */
async function tellToReconnect(
  stream: { write(text: string): Promise<unknown> },
  controller: AbortController,
) {
  try {
    await stream.write(formatMessage({ event: 'reconnect', data: '{}', retry: reconnectDelayMs }));
  } finally {
    controller.abort(requestEnded);
  }
}
