import { randomUUID } from 'node:crypto';

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it, vi } from 'vitest';

import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { newRecord, toSnapshot, type ExportRecord } from './lib/snapshot.js';

/** Reads SSE frames from a response body one at a time. */
function frameReader(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const frames: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (frame) => frames.push(frame),
    onComment: (comment) => comments.push(comment),
  });
  let ended = false;

  return {
    comments,
    /** Returns the next frame, or undefined once the stream has ended. */
    async next(): Promise<EventSourceMessage | undefined> {
      while (frames.length === 0 && !ended) {
        const { value, done } = await reader.read();
        if (done) ended = true;
        else parser.feed(value);
      }

      return frames.shift();
    },
    /** Reads until a comment arrives. */
    async nextComment(): Promise<string | undefined> {
      while (comments.length === 0 && !ended) {
        const { value, done } = await reader.read();
        if (done) ended = true;
        else parser.feed(value);
      }

      return comments.shift();
    },
    cancel: () => reader.cancel(),
  };
}

async function setup(options: { sseHeartbeatMs?: number } = {}) {
  const { app, deps, logger } = memoryHttpApp(options);
  const exportId = randomUUID();
  await deps.records.create(newRecord(exportId, [10001, 10002], 3, new Date(deps.clock.now())));

  const follow = (
    headers: Record<string, string> = {},
    path = `/v1/export/${exportId}/progress`,
    method = 'GET',
  ) => app.request(path, { headers, method });

  return { app, deps, logger, exportId, follow };
}

function processing(percent: number) {
  return (record: ExportRecord): ExportRecord => ({
    ...record,
    status: 'processing',
    progress: { ...record.progress, percent },
  });
}

function completed(record: ExportRecord): ExportRecord {
  return { ...record, status: 'completed', progress: { ...record.progress, percent: 100 } };
}

describe('GET /v1/export/:id/progress', () => {
  it('sends the snapshot first', async () => {
    const { deps, exportId, follow } = await setup();
    const record = await deps.records.update(exportId, processing(10));
    const response = await follow();
    const frames = frameReader(response);
    const first = await frames.next();
    await frames.cancel();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(first?.event).toBe('snapshot');
    expect(first?.id).toBe(String(record.version));
    expect(JSON.parse(first?.data ?? '')).toEqual(toSnapshot(record));
  });

  it('hides internal fields in frames', async () => {
    const { follow } = await setup();
    const frames = frameReader(await follow());
    const data = JSON.parse((await frames.next())?.data ?? '');
    await frames.cancel();

    expect(data).not.toHaveProperty('fileIds');
    expect(data).not.toHaveProperty('artifact');
  });

  it('sends updates as progress', async () => {
    const { deps, exportId, follow } = await setup();
    const frames = frameReader(await follow());
    await frames.next();
    const record = await deps.records.update(exportId, processing(40));
    const update = await frames.next();
    await frames.cancel();

    expect(update?.event).toBe('progress');
    expect(update?.id).toBe(String(record.version));
    expect(JSON.parse(update?.data ?? '')).toEqual(toSnapshot(record));
  });

  it('sends every update in order', async () => {
    const { deps, exportId, follow } = await setup();
    const frames = frameReader(await follow());
    await frames.next();
    for (const percent of [10, 20, 30]) await deps.records.update(exportId, processing(percent));
    const percents: number[] = [];
    for (let count = 0; count < 3; count++) {
      percents.push(JSON.parse((await frames.next())?.data ?? '').progress.percent);
    }
    await frames.cancel();

    expect(percents).toEqual([10, 20, 30]);
  });

  it('ends after the completed frame', async () => {
    const { deps, exportId, follow } = await setup();
    const frames = frameReader(await follow());
    await frames.next();
    const record = await deps.records.update(exportId, completed);
    const terminal = await frames.next();

    expect(terminal?.event).toBe('completed');
    expect(terminal?.id).toBe(String(record.version));
    expect(await frames.next()).toBeUndefined();
    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });

  it('ends after the failed frame', async () => {
    const { deps, exportId, follow } = await setup();
    const frames = frameReader(await follow());
    await frames.next();
    await deps.records.update(exportId, (record) => ({
      ...record,
      status: 'failed',
      error: { code: 'all_files_missing', message: 'None of the files exist' },
    }));
    const terminal = await frames.next();

    expect(terminal?.event).toBe('failed');
    expect(JSON.parse(terminal?.data ?? '').error.code).toBe('all_files_missing');
    expect(await frames.next()).toBeUndefined();
  });

  it('sends one frame after completion', async () => {
    const { deps, exportId, follow } = await setup();
    const record = await deps.records.update(exportId, completed);
    const frames = frameReader(await follow());
    const only = await frames.next();

    expect(only?.event).toBe('completed');
    expect(only?.id).toBe(String(record.version));
    expect(await frames.next()).toBeUndefined();
    expect(deps.records.followerCount()).toBe(0);
  });

  it('skips a snapshot the client has', async () => {
    const { deps, exportId, follow } = await setup();
    const current = await deps.records.update(exportId, processing(10));
    const responding = follow({ 'Last-Event-ID': String(current.version) });
    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(1));
    const next = await deps.records.update(exportId, processing(20));
    const frames = frameReader(await responding);
    const first = await frames.next();
    await frames.cancel();

    expect(first?.event).toBe('progress');
    expect(first?.id).toBe(String(next.version));
  });

  it('resends a newer snapshot', async () => {
    const { deps, exportId, follow } = await setup();
    const current = await deps.records.update(exportId, processing(10));
    const frames = frameReader(await follow({ 'Last-Event-ID': String(current.version - 1) }));
    const first = await frames.next();
    await frames.cancel();

    expect(first?.event).toBe('snapshot');
    expect(first?.id).toBe(String(current.version));
  });

  it('returns 204 at the terminal version', async () => {
    const { deps, exportId, follow } = await setup();
    const record = await deps.records.update(exportId, completed);
    const response = await follow({ 'Last-Event-ID': String(record.version) });

    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(deps.records.followerCount()).toBe(0);
  });

  it('rejects a non-integer Last-Event-ID', async () => {
    const { follow } = await setup();
    const response = await follow({ 'Last-Event-ID': 'abc' });
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe('last-event-id');
  });

  it('returns 404 for unknown id', async () => {
    const { deps, app } = await setup();
    const response = await app.request(`/v1/export/${randomUUID()}/progress`);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(error.code).toBe('not_found');
    expect(deps.records.followerCount()).toBe(0);
  });

  it('returns 400 for a non-UUID id', async () => {
    const { app } = await setup();
    const response = await app.request('/v1/export/42/progress');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe('id');
  });

  it('responds on the old subscribe path', async () => {
    const { exportId, follow } = await setup();
    const frames = frameReader(await follow({}, `/v1/download/subscribe/${exportId}`));
    const first = await frames.next();
    await frames.cancel();

    expect(first?.event).toBe('snapshot');
    expect(JSON.parse(first?.data ?? '').jobId).toBe(exportId);
  });

  it('removes the follower on client abort', async () => {
    const { app, deps, exportId } = await setup();
    const controller = new AbortController();
    const request = new Request(`http://127.0.0.1/v1/export/${exportId}/progress`, {
      signal: controller.signal,
    });
    const frames = frameReader(await app.request(request));
    await frames.next();

    expect(deps.records.followerCount()).toBe(1);

    controller.abort();
    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });

  it('removes the follower on cancel', async () => {
    const { deps, follow } = await setup();
    const frames = frameReader(await follow());
    await frames.next();
    await frames.cancel();

    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });

  it('sends heartbeats while idle', async () => {
    const { follow } = await setup({ sseHeartbeatMs: 20 });
    const frames = frameReader(await follow());
    await frames.next();
    const comment = await frames.nextComment();
    await frames.cancel();

    expect(comment?.trim()).toBe('heartbeat');
  });

  it('asks proxies not to transform', async () => {
    const { follow } = await setup();
    const response = await follow();
    await response.body?.cancel();

    expect(response.headers.get('cache-control')).toContain('no-transform');
  });

  it('asks nginx not to buffer', async () => {
    const { follow } = await setup();
    const response = await follow();
    await response.body?.cancel();

    expect(response.headers.get('x-accel-buffering')).toBe('no');
  });

  it('ends HEAD without following', async () => {
    const { deps, follow } = await setup();
    const response = await follow({}, undefined, 'HEAD');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });
});
