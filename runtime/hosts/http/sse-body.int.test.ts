import type { AddressInfo } from 'node:net';

import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { SseFrame } from '../../contract/define.js';
import { respondWithSse } from './sse.js';
import { nodeResponseOf, SseBody } from './sse-body.js';

const bodies: SseBody[] = [];
const controllers: AbortController[] = [];
let server: ServerType;
let baseUrl: string;

/** Yields one frame, then waits until the request ends, like a function following an export. */
async function* oneFrameThenWait(signal: AbortSignal): AsyncGenerator<SseFrame, void> {
  yield { event: 'progress', id: '1', data: { percent: 10 } };
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
}

function buildApp(): Hono {
  const app = new Hono();
  app.use(secureHeaders());

  app.get('/body', (c) => {
    const body = new SseBody(nodeResponseOf(c), new AbortController().signal, () => {});
    bodies.push(body);
    void (async () => {
      await body.write('event: one\ndata: 1\n\n');
      await body.write(new TextEncoder().encode('event: two\ndata: 2\n\n'));
      body.end();
    })();

    return c.body(body.stream, 200, { 'Transfer-Encoding': 'chunked' });
  });

  app.get('/frames', (c) => {
    const controller = new AbortController();
    controllers.push(controller);
    const options = { heartbeatMs: 60_000, controller, onError: () => {} };

    return respondWithSse(c, oneFrameThenWait(controller.signal), options);
  });

  return app;
}

beforeAll(async () => {
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: buildApp().fetch, hostname: '127.0.0.1', port: 0 }, () =>
      resolve(started),
    );
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // fetch keeps idle connections open, and close() would wait for them.
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
});

describe('SSE body under @hono/node-server', () => {
  it('writes to the Node response', async () => {
    const response = await fetch(`${baseUrl}/body`);
    const text = await response.text();

    expect(text).toBe('event: one\ndata: 1\n\nevent: two\ndata: 2\n\n');
    expect(bodies.at(-1)?.writesToNodeResponse).toBe(true);
  });

  it('keeps headers that middleware sets later', async () => {
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/frames`, { signal: controller.signal });
    controller.abort();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('sends the first frame', async () => {
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/frames`, { signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await reader.read();
    controller.abort();

    expect(value).toBe('event: progress\ndata: {"percent":10}\nid: 1\n\n');
  });

  it('aborts the function when the client leaves', async () => {
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/frames`, { signal: controller.signal });
    await response.body!.getReader().read();
    const functionController = controllers.at(-1)!;
    controller.abort();

    await vi.waitFor(() => expect(functionController.signal.aborted).toBe(true));
  });
});
