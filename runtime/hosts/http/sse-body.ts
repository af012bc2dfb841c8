/**
 * The body of one SSE response. Under @hono/node-server the bytes go straight to the Node
 * response: in a CPU profile of the API during the sse-latency benchmark, the web streams of
 * Hono's `streamSSE` took more samples (5.1%) than the socket writes (3.6%). Other hosts
 * (Lambda, `app.request()` in tests) read the body stream.
 */
import { ServerResponse } from 'node:http';

import type { Context } from 'hono';

const encoder = new TextEncoder();

/**
 * Returns the Node response when @hono/node-server serves `c`, which passes it as
 * `c.env.outgoing`, and undefined on every other host.
 */
export function nodeResponseOf(c: Context): ServerResponse | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('outgoing' in env)) return undefined;

  return env.outgoing instanceof ServerResponse ? env.outgoing : undefined;
}

/**
 * A writable SSE body. Writes wait until the host reads the body, because only then are the
 * response headers out.
 *
 * With a Node response, @hono/node-server (2.1.11) writes the head of a chunked response, then
 * keeps the body's first read pending until the body closes. The writes then go to the Node
 * response, and closing the body makes the server end the response.
 */
export class SseBody {
  readonly stream: ReadableStream<Uint8Array>;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private direct: ServerResponse | undefined;
  private started = false;
  private cancelled = false;
  private ended = false;
  private waiters: Array<() => void> = [];

  /**
   * `onCancel` runs when the host cancels the body because the client left. `signal` ends
   * every wait, so a stream that is stopping never hangs on a client that reads nothing.
   */
  constructor(
    private readonly outgoing: ServerResponse | undefined,
    private readonly signal: AbortSignal,
    onCancel: () => void,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.onRead(),
        cancel: () => {
          this.cancelled = true;
          onCancel();
          this.release();
        },
      },
      // Nothing is read ahead, so the first pull means that the host is reading the body.
      { highWaterMark: 0 },
    );
    signal.addEventListener('abort', this.release, { once: true });
  }

  /** True once the client left or the body ended. */
  get closed(): boolean {
    return this.cancelled || this.ended || this.direct?.destroyed === true;
  }

  /** True once the host reads the body and the bytes go straight to the Node response. */
  get writesToNodeResponse(): boolean {
    return this.direct !== undefined;
  }

  /**
   * Writes `chunk`. Returns a promise to wait on before the next write while the client cannot
   * take more, and undefined when it can. Once the stream stopped, the chunk is dropped.
   */
  write(chunk: Uint8Array | string): Promise<void> | undefined {
    // The common case, kept free of promises because it runs for every stream on every frame.
    if (this.direct && !this.closed) {
      const full = !this.direct.write(chunk) && !this.signal.aborted;

      return full ? this.nextRelease() : undefined;
    }

    return this.writeWhenReady(chunk);
  }

  /** Ends the body, after which the host ends the response. */
  end(): void {
    if (this.ended) return;

    this.ended = true;
    if (!this.cancelled) this.controller?.close();
    this.direct?.off('drain', this.release);
    this.signal.removeEventListener('abort', this.release);
    this.release();
  }

  private async writeWhenReady(chunk: Uint8Array | string): Promise<void> {
    while (!this.started && !this.stopped()) await this.nextRelease();
    if (this.closed) return;

    if (this.direct) return this.write(chunk);

    // At most one chunk waits in the body stream, as in a writable stream of high water mark 1.
    const controller = this.controller!;
    while ((controller.desiredSize ?? 0) < 0 && !this.stopped()) await this.nextRelease();
    if (this.closed) return;

    controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
  }

  private stopped(): boolean {
    return this.closed || this.signal.aborted;
  }

  private onRead(): void {
    if (!this.started) {
      this.started = true;
      // Writing before the head is out would send Node's default headers, so a host that reads
      // before it writes the head gets the body stream instead.
      if (this.outgoing?.headersSent) {
        this.direct = this.outgoing;
        this.direct.on('drain', this.release);
      }
    }

    this.release();
  }

  private nextRelease(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private readonly release = (): void => {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  };
}
