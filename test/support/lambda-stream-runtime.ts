/**
 * A stand-in for the `awslambda` global that Lambda's Node.js runtime defines for response
 * streaming. Hono's `streamHandle` calls `awslambda.streamifyResponse` when the handler is
 * built, so the streaming Lambda host cannot even be created outside Lambda without it.
 */
import { Writable } from 'node:stream';

/** A response stream that keeps the HTTP metadata and every byte written to it. */
export class CapturedResponseStream extends Writable {
  /** What `HttpResponseStream.from` received: statusCode, headers and cookies. */
  metadata: { statusCode?: number; headers?: Record<string, string>; cookies?: string[] } = {};
  readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }

  /** Returns the body written so far. */
  body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * The part of the runtime's `awslambda` that Hono uses. The real `HttpResponseStream.from`
 * writes the metadata as a JSON prelude into the stream, but this one keeps it on the stream.
 */
const streamingRuntime = {
  streamifyResponse: <T>(handler: T): T => handler,
  HttpResponseStream: {
    from(stream: CapturedResponseStream, metadata: CapturedResponseStream['metadata']) {
      stream.metadata = metadata;
      return stream;
    },
  },
};

/** Defines the `awslambda` global unless it exists, and returns a function that undoes it. */
export function installStreamingRuntime(): () => void {
  const scope = globalThis as { awslambda?: unknown };
  if (scope.awslambda !== undefined) return () => undefined;

  scope.awslambda = streamingRuntime;
  return () => {
    delete scope.awslambda;
  };
}
