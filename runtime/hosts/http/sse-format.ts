/** The Server-Sent Events wire format, with each shared frame encoded once for all streams. */
import type { SseFrame } from '../../contract/define.js';

/** The fields of one event as they go on the wire, with `data` already serialised. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  /** Milliseconds EventSource waits before it reconnects. */
  retry?: number;
}

const encoder = new TextEncoder();

/** A frame's event and id with its encoding. */
interface EncodedFrame {
  event: string;
  id: string | undefined;
  bytes: Uint8Array;
}

/** Encodings by the frame's data object, which rarely goes out under more than one event. */
const encodedFrames = new WeakMap<object, EncodedFrame[]>();

/**
 * Encodes `frame` as UTF-8 event text. Frames with the same data object, event and id share one
 * encoding, so a record that many streams send is serialised once. A data object must therefore
 * not change after its first frame is encoded.
 */
export function encodeFrame(frame: SseFrame): Uint8Array {
  const { data } = frame;
  if (typeof data !== 'object' || data === null) return encodeFresh(frame);

  let encodings = encodedFrames.get(data);
  if (!encodings) {
    encodings = [];
    encodedFrames.set(data, encodings);
  }

  const found = encodings.find((known) => known.event === frame.event && known.id === frame.id);
  if (found) return found.bytes;

  const bytes = encodeFresh(frame);
  encodings.push({ event: frame.event, id: frame.id, bytes });

  return bytes;
}

/** Formats one event. Throws when `event` or `id` contains a line break, which would split it. */
export function formatMessage(message: SseMessage): string {
  for (const field of ['event', 'id'] as const) {
    const value = message[field];
    if (value !== undefined && /[\r\n]/.test(value)) {
      throw new Error(`The SSE ${field} ${JSON.stringify(value)} contains a line break`);
    }
  }

  const lines = [`event: ${message.event}`];
  for (const line of message.data.split(/\r\n|\r|\n/)) lines.push(`data: ${line}`);
  if (message.id !== undefined) lines.push(`id: ${message.id}`);
  if (message.retry !== undefined) lines.push(`retry: ${message.retry}`);

  return `${lines.join('\n')}\n\n`;
}

function encodeFresh(frame: SseFrame): Uint8Array {
  const data = JSON.stringify(frame.data);
  const message = { event: frame.event, data, ...(frame.id === undefined ? {} : { id: frame.id }) };

  return encoder.encode(formatMessage(message));
}
