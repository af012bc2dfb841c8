/** One Server-Sent Events connection to an export's progress URL, read with eventsource-parser. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

import { terminalStatuses, type ExportSnapshot } from '../../functions/lib/snapshot.js';
import { ApiError, parseSnapshot, toApiError, unusableBodyStatus } from './api.js';

/** State that a follower carries from one connection to the next. */
export interface FollowState {
  /** The id of the last frame, sent back as `Last-Event-ID` on reconnect. */
  lastEventId: string | undefined;
  /** The highest snapshot version passed on, so repeated frames after a reconnect are dropped. */
  lastVersion: number;
  /** The reconnection time that the server set with a `retry:` field, in milliseconds. */
  retryMs: number | undefined;
}

/** The options of one connection. */
export interface ConnectionOptions {
  progressUrl: string;
  onSnapshot: (snapshot: ExportSnapshot) => void;
  /** The connection counts as dropped when no byte, heartbeat included, arrives this long. */
  idleTimeoutMs: number;
  signal: AbortSignal | undefined;
}

const frameEvents = new Set(['snapshot', 'progress', 'completed', 'failed']);

/** The stream received no byte within the idle timeout. */
export class IdleTimeoutError extends Error {
  override readonly name = 'IdleTimeoutError';
}

/**
 * Reads frames until a terminal one arrives or the stream ends. Returns the terminal snapshot,
 * or null when the stream ended before it. Passes each newer snapshot to `onSnapshot` and
 * updates `state`. Throws on HTTP errors, invalid frames, idle timeouts and network failures.
 */
export async function readSseConnection(
  options: ConnectionOptions,
  state: FollowState,
): Promise<ExportSnapshot | null> {
  const controller = new AbortController();
  const stopOnAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stopOnAbort, { once: true });

  let idleTimer = startIdleTimer(controller, options.idleTimeoutMs);

  try {
    const response = await fetch(options.progressUrl, {
      headers: requestHeaders(state),
      signal: controller.signal,
    });
    const body = await eventStreamBody(response);

    let terminal: ExportSnapshot | null = null;
    const parser = createParser({
      onEvent: (message) => {
        terminal ??= applyFrame(message, state, options.onSnapshot);
      },
      onRetry: (retryMs) => {
        state.retryMs = retryMs;
      },
    });

    const decoder = new TextDecoder();
    for await (const chunk of body) {
      clearTimeout(idleTimer);
      idleTimer = startIdleTimer(controller, options.idleTimeoutMs);
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (terminal !== null) return terminal;
    }

    return null;
  } finally {
    clearTimeout(idleTimer);
    options.signal?.removeEventListener('abort', stopOnAbort);
    // Closes the connection when a terminal frame arrived before the server ended the stream.
    controller.abort();
  }
}

/**
 * Passes the frame's snapshot on when it is newer than the last one and records its id.
 * Returns the snapshot when the frame is terminal, else null. Ignores unknown event names.
 */
export function applyFrame(
  message: EventSourceMessage,
  state: FollowState,
  onSnapshot: (snapshot: ExportSnapshot) => void,
): ExportSnapshot | null {
  if (message.id !== undefined) state.lastEventId = message.id;
  if (!frameEvents.has(message.event ?? '')) return null;

  const snapshot = parseSnapshot(JSON.parse(message.data));
  if (snapshot.version > state.lastVersion) {
    state.lastVersion = snapshot.version;
    onSnapshot(snapshot);
  }

  const terminalEvent = message.event === 'completed' || message.event === 'failed';
  return terminalEvent || terminalStatuses.has(snapshot.status) ? snapshot : null;
}

function requestHeaders(state: FollowState): Record<string, string> {
  const headers: Record<string, string> = {
    accept: 'text/event-stream',
    'cache-control': 'no-cache',
  };
  if (state.lastEventId !== undefined) headers['last-event-id'] = state.lastEventId;

  return headers;
}

async function eventStreamBody(response: Response): Promise<ReadableStream<Uint8Array>> {
  if (!response.ok) throw await toApiError(response);

  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/event-stream') || response.body === null) {
    const message = `Expected text/event-stream from the progress URL, got "${contentType}"`;
    throw new ApiError(unusableBodyStatus, 'invalid_response', message);
  }

  return response.body;
}

function startIdleTimer(controller: AbortController, timeoutMs: number): NodeJS.Timeout {
  const message = `No data on the progress stream for ${timeoutMs} ms`;

  return setTimeout(() => controller.abort(new IdleTimeoutError(message)), timeoutMs);
}
