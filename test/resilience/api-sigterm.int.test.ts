/**
 * A real API process gets SIGTERM while SSE clients follow exports. Each client must receive a
 * `reconnect` event with a `retry:` delay, and then the end of its stream. The process must stop
 * accepting connections at once and exit with 0 within API_SHUTDOWN_TIMEOUT_MS plus a margin.
 * No worker runs, so the exports stay queued and their streams stay open.
 */
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createExport } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import type { ExitStatus } from '../support/processes.js';
import { type ApiProcess, startApiProcess } from '../support/service-processes.js';

const shutdownDeadlineMs = 3_000;
/** Time for closing the Redis connections and process exit on a loaded machine. */
const exitMarginMs = 3_000;
const clientCount = 3;

/** One SSE client's raw stream. */
interface RawStream {
  /** Everything the server sent, as text. */
  text: string;
  /** When the body ended, in Date.now() milliseconds. */
  endedAt: number;
}

let testServices: TestServices;
let api: ApiProcess;
let slowRequest: net.Socket | undefined;

let streams: RawStream[];
let sigtermAt: number;
let runningAfterStreams: boolean;
let connectError: NodeJS.ErrnoException | undefined;
let exit: ExitStatus;
let exitMs: number;

beforeAll(async () => {
  testServices = await startTestServices();
  api = await startApiProcess({
    ...testServices.env,
    API_SHUTDOWN_TIMEOUT_MS: String(shutdownDeadlineMs),
  });
  const port = Number(new URL(api.url).port);

  const followed: Array<Promise<RawStream>> = [];
  for (let client = 0; client < clientCount; client++) {
    const { body } = await createExport(api.url, [70_000 + client]);
    followed.push((await openRawSse(`${api.url}${body.progressUrl}`)).ended);
  }
  // A request whose body never completes keeps the server busy until the deadline, so the
  // check for refused connections runs while the process is still stopping.
  slowRequest = await startSlowRequest(port);

  let exited = false;
  void api.process.exited.then(() => {
    exited = true;
  });
  sigtermAt = Date.now();
  process.kill(api.process.pid, 'SIGTERM');
  streams = await Promise.all(followed);
  runningAfterStreams = !exited;
  connectError = await tryConnect(port);

  const exitTimer = setTimeout(() => process.kill(api.process.pid, 'SIGKILL'), 20_000);
  exit = await api.process.exited;
  clearTimeout(exitTimer);
  exitMs = Date.now() - sigtermAt;
}, 90_000);

afterAll(async () => {
  slowRequest?.destroy();
  await api?.process.stop();
  await testServices?.stop();
});

describe('API SIGTERM with SSE clients', () => {
  it('sends each client a reconnect event', () => {
    for (const stream of streams) {
      expect(stream.text).toMatch(/^event: reconnect$/m);
    }
  });

  it('sets a retry delay', () => {
    for (const stream of streams) {
      expect(stream.text).toMatch(/^retry: \d+$/m);
    }
  });

  it('ends streams before the deadline', () => {
    for (const stream of streams) {
      expect(stream.endedAt - sigtermAt).toBeLessThan(shutdownDeadlineMs);
    }
  });

  it('refuses new connections', () => {
    expect(runningAfterStreams).toBe(true);
    expect(connectError?.code).toBe('ECONNREFUSED');
  });

  it('exits within the deadline', () => {
    expect(exitMs).toBeLessThan(shutdownDeadlineMs + exitMarginMs);
  });

  it('exits with code 0', () => {
    expect(exit).toEqual({ code: 0, signal: null });
  });
});

/**
 * Sends the GET, waits for the first frame, and returns `ended`, a promise of the whole stream
 * that settles once the server ends the body.
 */
async function openRawSse(url: string): Promise<{ ended: Promise<RawStream> }> {
  const response = await fetch(url, {
    headers: { Accept: 'text/event-stream' },
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.body) throw new Error(`GET ${url} returned ${response.status} with no body`);

  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`GET ${url} ended before its first frame: ${text}`);
    text += value;
  }

  const readRest = async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += chunk.value;
    }
    return { text, endedAt: Date.now() };
  };

  return { ended: readRest() };
}

/** Opens a connection and sends a POST with only part of the body its Content-Length announces. */
async function startSlowRequest(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const head =
    'POST /v1/export HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    'Content-Length: 30\r\n\r\n';
  socket.write(`${head}{"file_ids":[70000]`);

  return socket;
}

/** Resolves with the connection error, or undefined when the connection was accepted. */
function tryConnect(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error));
  });
}
