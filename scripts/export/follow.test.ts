import { afterEach, describe, expect, it } from 'vitest';

import type { ExportSnapshot, ExportStatus } from '../../functions/lib/snapshot.js';
import { ApiError } from './api.js';
import { followExport, reconnectDelayMs, type FollowOptions } from './follow.js';
import {
  openEventStream,
  sendJson,
  sseFrame,
  startTestServer,
  type Route,
  type TestServer,
} from './test-server.js';

const servers: TestServer[] = [];
const failure = { code: 'source_unreadable', message: 'file 70001 could not be read' };

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function startServer(routes: Record<string, Route>): Promise<TestServer> {
  const server = await startTestServer(routes);
  servers.push(server);

  return server;
}

function snapshot(version: number, status: ExportStatus, filesDone: number): ExportSnapshot {
  return {
    jobId: 'job-1',
    status,
    attempt: 1,
    maxAttempts: 3,
    progress: { percent: filesDone * 50, filesDone, filesTotal: 2, bytesDone: 10, bytesTotal: 20 },
    missingFileIds: [],
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    version,
  };
}

function follow(server: TestServer, overrides: Partial<FollowOptions> = {}) {
  const versions: number[] = [];
  const notices: string[] = [];
  const result = followExport({
    progressUrl: `${server.baseUrl}/progress`,
    statusUrl: `${server.baseUrl}/status`,
    onSnapshot: (received) => versions.push(received.version),
    onNotice: (message) => notices.push(message),
    reconnectDelayMs: 1,
    maxReconnectDelayMs: 5,
    pollIntervalMs: 5,
    ...overrides,
  });

  return { result, versions, notices };
}

describe('followExport', () => {
  it('reads frames until completed', async () => {
    const server = await startServer({
      '/progress': (_request, response) => {
        openEventStream(response);
        response.write(sseFrame('snapshot', snapshot(1, 'queued', 0)));
        response.write(': heartbeat\n\n');
        response.write(sseFrame('progress', snapshot(2, 'processing', 1)));
        response.end(sseFrame('completed', snapshot(3, 'completed', 2)));
      },
    });

    const { result, versions } = follow(server);
    const final = await result;

    expect(final.status).toBe('completed');
    expect(final.version).toBe(3);
    expect(versions).toEqual([1, 2, 3]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.lastEventId).toBeUndefined();
  });

  it('reconnects with Last-Event-ID after a drop', async () => {
    const server = await startServer({
      '/progress': (request, response, index) => {
        if (index === 0) {
          openEventStream(response);
          response.write(sseFrame('snapshot', snapshot(1, 'queued', 0)));
          response.write(sseFrame('progress', snapshot(2, 'processing', 1)));
          // Destroys the socket mid-stream, so the client sees a broken body, not a clean end.
          setTimeout(() => response.socket?.destroy(), 20);
          return;
        }

        // The server checks the header itself and rejects a reconnect that does not resume.
        if (request.headers['last-event-id'] !== '2') {
          sendJson(response, 400, { error: { code: 'not_resumed', message: 'expected 2' } });
          return;
        }
        openEventStream(response);
        response.write(sseFrame('snapshot', snapshot(2, 'processing', 1)));
        response.write(sseFrame('progress', snapshot(3, 'processing', 2)));
        response.end(sseFrame('completed', snapshot(4, 'completed', 2)));
      },
    });

    const { result, versions, notices } = follow(server);
    const final = await result;

    expect(final.status).toBe('completed');
    expect(versions).toEqual([1, 2, 3, 4]);
    expect(server.requests.map((request) => request.lastEventId)).toEqual([undefined, '2']);
    expect(notices.some((notice) => notice.startsWith('Reconnecting'))).toBe(true);
  });

  it('reconnects after a clean end without a terminal frame', async () => {
    const server = await startServer({
      '/progress': (_request, response, index) => {
        openEventStream(response);
        if (index === 0) {
          response.end(sseFrame('snapshot', snapshot(5, 'processing', 1)));
          return;
        }
        response.end(sseFrame('failed', { ...snapshot(6, 'failed', 1), error: failure }));
      },
    });

    const { result } = follow(server);
    const final = await result;

    expect(final.status).toBe('failed');
    expect(final.error).toEqual(failure);
    expect(server.requests.map((request) => request.lastEventId)).toEqual([undefined, '5']);
  });

  it('falls back to polling when SSE keeps failing', async () => {
    const server = await startServer({
      '/progress': (_request, response) => {
        sendJson(response, 503, { error: { code: 'unavailable', message: 'try later' } });
      },
      '/status': (_request, response, index) => {
        const body = index < 2 ? snapshot(1, 'processing', 1) : snapshot(2, 'completed', 2);
        sendJson(response, 200, body);
      },
    });

    const { result, versions, notices } = follow(server, { maxReconnects: 2 });
    const final = await result;

    expect(final.status).toBe('completed');
    expect(versions).toEqual([1, 2]);
    expect(server.requests.filter((request) => request.path === '/progress')).toHaveLength(3);
    expect(server.requests.filter((request) => request.path === '/status')).toHaveLength(3);
    expect(notices.some((notice) => notice.includes('polling'))).toBe(true);
  });

  it('treats a silent stream as dropped', async () => {
    const server = await startServer({
      '/progress': (_request, response, index) => {
        openEventStream(response);
        if (index === 0) {
          response.write(sseFrame('snapshot', snapshot(1, 'processing', 0)));
          return;
        }
        response.end(sseFrame('completed', snapshot(2, 'completed', 2)));
      },
    });

    const { result } = follow(server, { idleTimeoutMs: 100 });
    const final = await result;

    expect(final.version).toBe(2);
    expect(server.requests.map((request) => request.lastEventId)).toEqual([undefined, '1']);
  });

  it('throws on 404 without retrying', async () => {
    const server = await startServer({
      '/progress': (_request, response) => {
        sendJson(response, 404, { error: { code: 'not_found', message: 'no such job' } });
      },
    });

    const { result } = follow(server);

    await expect(result).rejects.toBeInstanceOf(ApiError);
    await expect(result).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(server.requests).toHaveLength(1);
  });

  it('stops when the signal aborts', async () => {
    const server = await startServer({
      '/progress': (_request, response) => {
        openEventStream(response);
        response.write(sseFrame('snapshot', snapshot(1, 'processing', 0)));
      },
    });
    const controller = new AbortController();

    const { result, versions } = follow(server, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('test abort')), 50);

    await expect(result).rejects.toThrow('test abort');
    expect(versions).toEqual([1]);
    expect(server.requests).toHaveLength(1);
  });
});

describe('reconnectDelayMs', () => {
  it('doubles the base and caps it', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => reconnectDelayMs(attempt, 500, 4_000))).toEqual([
      500, 1_000, 2_000, 4_000, 4_000,
    ]);
  });
});
