/** A Server-Sent Events client over fetch, for tests that follow an export's progress. */
import { EventSourceParserStream } from 'eventsource-parser/stream';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';

/** One parsed frame of the progress stream. */
export interface SnapshotFrame {
  /** The `id:` field, which the service sets to the snapshot's version. */
  id: string | undefined;
  /** The `event:` field: `snapshot`, `progress`, `completed` or `failed`. */
  event: string | undefined;
  data: ExportSnapshot;
}

/** An open progress stream. */
export interface SseStream {
  response: Response;
  /** Frames in arrival order. The iteration ends when the server closes the stream. */
  frames: AsyncIterableIterator<SnapshotFrame>;
  /** Aborts the request, as a browser tab that closes would. */
  abort(): void;
}

/** Options of `openSse` and `readSse`. */
export interface SseOptions {
  /** Extra request headers, such as `Last-Event-ID`. */
  headers?: Record<string, string>;
  /** Aborts the request after this many milliseconds, 30,000 when unset. */
  timeoutMs?: number;
}

/** Sends the GET and resolves once the response headers arrive. */
export async function openSse(url: string, options: SseOptions = {}): Promise<SseStream> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`The SSE request to ${url} timed out`)),
    options.timeoutMs ?? 30_000,
  );
  timer.unref();

  const response = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...options.headers },
    signal: controller.signal,
  });
  const frames = parseFrames(response, () => clearTimeout(timer));

  return { response, frames, abort: () => controller.abort() };
}

/** Follows `url` until the server ends the stream and returns the status and every frame. */
export async function readSse(
  url: string,
  options: SseOptions = {},
): Promise<{ status: number; frames: SnapshotFrame[] }> {
  const stream = await openSse(url, options);
  const frames: SnapshotFrame[] = [];
  for await (const frame of stream.frames) frames.push(frame);

  return { status: stream.response.status, frames };
}

async function* parseFrames(response: Response, onEnd: () => void) {
  try {
    if (!response.body) return;

    const messages = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream());
    for await (const message of messages) {
      const data = JSON.parse(message.data) as ExportSnapshot;
      yield { id: message.id, event: message.event, data };
    }
  } finally {
    onEnd();
  }
}
