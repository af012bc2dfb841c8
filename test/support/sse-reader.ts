/** Reads Server-Sent Events from a Response one frame at a time, for in-process host tests. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** A reader over one SSE response body. */
export interface SseReader {
  /** Returns the next frame, or undefined once the server has ended the stream. */
  next(): Promise<EventSourceMessage | undefined>;
  /** Reads frames until the stream ends and returns them. */
  rest(): Promise<EventSourceMessage[]>;
  /** Cancels the body, as a client that goes away would. */
  cancel(): Promise<void>;
}

export function readSseFrames(response: Response): SseReader {
  if (!response.body) throw new Error(`The response (status ${response.status}) has no body`);

  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const frames: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (frame) => frames.push(frame) });
  let ended = false;

  const next = async () => {
    while (frames.length === 0 && !ended) {
      const { value, done } = await reader.read();
      if (done) ended = true;
      else parser.feed(value);
    }

    return frames.shift();
  };

  const rest = async () => {
    const all: EventSourceMessage[] = [];
    for (let frame = await next(); frame; frame = await next()) all.push(frame);

    return all;
  };

  return { next, rest, cancel: () => reader.cancel() };
}
