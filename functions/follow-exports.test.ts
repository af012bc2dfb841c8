import { randomUUID } from 'node:crypto';

import { describe, expect, it, vi } from 'vitest';

import type { MemoryDeps } from '../test/memory/deps.js';
import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { readSseFrames } from '../test/support/sse-reader.js';
import { type ExportRecord, newRecord, toSnapshot } from './lib/snapshot.js';

async function setup(count = 2) {
  const { app, deps } = memoryHttpApp();
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const id = randomUUID();
    await deps.records.create(newRecord(id, [10001 + index], 3, new Date(deps.clock.now())));
    ids.push(id);
  }

  const follow = (followed: string[], init?: RequestInit) =>
    app.request(`/v1/exports/progress?ids=${followed.join(',')}`, init);

  return { app, deps, ids, follow };
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

function failed(record: ExportRecord): ExportRecord {
  return { ...record, status: 'failed', error: { code: 'all_files_missing', message: 'None' } };
}

function jobIdOf(frame: { data: string } | undefined): string | undefined {
  return frame ? (JSON.parse(frame.data) as { jobId: string }).jobId : undefined;
}

async function endAll(deps: MemoryDeps, ids: string[]) {
  for (const id of ids) await deps.records.update(id, completed);
}

describe('GET /v1/exports/progress', () => {
  it('sends current snapshots first', async () => {
    const { deps, ids, follow } = await setup();
    const first = await deps.records.update(ids[0]!, processing(30));
    const second = await deps.records.get(ids[1]!);
    const response = await follow(ids);
    const frames = readSseFrames(response);
    const firstFrame = await frames.next();
    const secondFrame = await frames.next();
    await frames.cancel();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(firstFrame?.event).toBe('progress');
    expect(JSON.parse(firstFrame?.data ?? '')).toEqual(toSnapshot(first));
    expect(JSON.parse(secondFrame?.data ?? '')).toEqual(toSnapshot(second!));
  });

  it('sends live frames of each export', async () => {
    const { deps, ids, follow } = await setup();
    const frames = readSseFrames(await follow(ids));
    await frames.next();
    await frames.next();
    const second = await deps.records.update(ids[1]!, processing(50));
    const first = await deps.records.update(ids[0]!, processing(20));
    const live = [await frames.next(), await frames.next()];
    await frames.cancel();

    expect(live.map(jobIdOf)).toEqual([ids[1], ids[0]]);
    expect(live.map((frame) => frame?.event)).toEqual(['progress', 'progress']);
    expect(JSON.parse(live[0]?.data ?? '')).toEqual(toSnapshot(second));
    expect(JSON.parse(live[1]?.data ?? '')).toEqual(toSnapshot(first));
  });

  it('sends frames without ids', async () => {
    const { ids, follow } = await setup();
    const frames = readSseFrames(await follow(ids));
    const first = await frames.next();
    await frames.cancel();

    expect(first?.id).toBeUndefined();
  });

  it('sends not_found for unknown ids', async () => {
    const { ids, follow } = await setup(1);
    const unknown = randomUUID();
    const frames = readSseFrames(await follow([unknown, ids[0]!]));
    const first = await frames.next();
    await frames.cancel();

    expect(first?.event).toBe('not_found');
    expect(JSON.parse(first?.data ?? '')).toEqual({ jobId: unknown });
  });

  it('hides exports of another owner', async () => {
    const { deps, follow } = await setup(0);
    const foreign = randomUUID();
    await deps.records.create(newRecord(foreign, [10001], 3, new Date(), 'another-owner'));
    const frames = await readSseFrames(await follow([foreign])).rest();

    expect(frames.map((frame) => frame.event)).toEqual(['not_found']);
  });

  it('follows a repeated id once', async () => {
    const { ids, follow } = await setup(1);
    const upper = ids[0]!.toUpperCase();
    const response = await follow([ids[0]!, upper]);
    const frames = readSseFrames(response);
    const first = await frames.next();
    await frames.cancel();

    expect(jobIdOf(first)).toBe(ids[0]);
    expect(response.status).toBe(200);
  });

  it('ends when all exports end', async () => {
    const { deps, ids, follow } = await setup();
    const frames = readSseFrames(await follow(ids));
    await frames.next();
    await frames.next();
    await deps.records.update(ids[0]!, completed);
    await deps.records.update(ids[1]!, failed);
    const rest = await frames.rest();

    expect(rest.map((frame) => frame.event)).toEqual(['completed', 'failed']);
    expect(rest.map(jobIdOf)).toEqual(ids);
  });

  it('ends on a cancelled export', async () => {
    const { deps, ids, follow } = await setup(1);
    const frames = readSseFrames(await follow(ids));
    await frames.next();
    await deps.records.update(ids[0]!, (record) => ({ ...record, status: 'cancelled' }));
    const rest = await frames.rest();

    expect(rest.map((frame) => frame.event)).toEqual(['cancelled']);
  });

  it('keeps going while one export runs', async () => {
    const { deps, ids, follow } = await setup();
    const frames = readSseFrames(await follow(ids));
    await frames.next();
    await frames.next();
    await deps.records.update(ids[0]!, completed);
    await deps.records.update(ids[1]!, processing(60));
    const terminal = await frames.next();
    const live = await frames.next();
    await frames.cancel();

    expect(terminal?.event).toBe('completed');
    expect(live?.event).toBe('progress');
    expect(jobIdOf(live)).toBe(ids[1]);
  });

  it('ignores updates after an export ended', async () => {
    const { deps, ids, follow } = await setup();
    await deps.records.update(ids[0]!, completed);
    const frames = readSseFrames(await follow(ids));
    await frames.next();
    await frames.next();
    await deps.records.update(ids[0]!, (record) => ({ ...record, expiresAt: 'later' }));
    await deps.records.update(ids[1]!, completed);
    const rest = await frames.rest();

    expect(rest.map(jobIdOf)).toEqual([ids[1]]);
  });

  it('ends at once when all have ended', async () => {
    const { deps, ids, follow } = await setup();
    await deps.records.update(ids[0]!, completed);
    await deps.records.update(ids[1]!, failed);
    const frames = await readSseFrames(await follow(ids)).rest();

    expect(frames.map((frame) => frame.event)).toEqual(['completed', 'failed']);
    expect(deps.records.followerCount()).toBe(0);
  });

  it('ends at once for unknown ids only', async () => {
    const { deps, follow } = await setup(0);
    const frames = await readSseFrames(await follow([randomUUID(), randomUUID()])).rest();

    expect(frames.map((frame) => frame.event)).toEqual(['not_found', 'not_found']);
    expect(deps.records.followerCount()).toBe(0);
  });

  it('leaves no follower after the end', async () => {
    const { deps, ids, follow } = await setup();
    const frames = readSseFrames(await follow(ids));
    await frames.next();
    await frames.next();

    expect(deps.records.followerCount()).toBe(2);

    await endAll(deps, ids);
    await frames.rest();
    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });

  it('leaves no follower after an abort', async () => {
    const { deps, ids, follow } = await setup();
    const controller = new AbortController();
    const frames = readSseFrames(await follow(ids, { signal: controller.signal }));
    await frames.next();

    expect(deps.records.followerCount()).toBe(2);

    controller.abort();
    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });

  it('leaves no follower after a cancel', async () => {
    const { deps, ids, follow } = await setup();
    const frames = readSseFrames(await follow(ids));
    await frames.next();
    await frames.cancel();

    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });
});

describe('GET /v1/exports/progress rejections', () => {
  it('accepts 50 ids', async () => {
    const { follow } = await setup(0);
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const frames = await readSseFrames(await follow(ids)).rest();

    expect(frames).toHaveLength(50);
  });

  it('rejects 51 ids', async () => {
    const { deps, follow } = await setup(0);
    const response = await follow(Array.from({ length: 51 }, () => randomUUID()));
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('ids');
    expect(error.message).toContain('50');
    expect(deps.records.followerCount()).toBe(0);
  });

  const malformed: Array<[string, string]> = [
    ['a short id', 'abc'],
    ['a trailing comma', `${randomUUID()},`],
    ['a space', `${randomUUID()}, ${randomUUID()}`],
    ['a non-hex letter', randomUUID().replace(/^./, 'g')],
    ['an empty list', ''],
  ];

  it.each(malformed)('rejects %s', async (_case, ids) => {
    const { app } = await setup(0);
    const response = await app.request(`/v1/exports/progress?ids=${encodeURIComponent(ids)}`);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('ids');
  });

  it('rejects a missing ids', async () => {
    const { app } = await setup(0);
    const response = await app.request('/v1/exports/progress');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe('ids');
  });

  it('rejects 36 hex digits without dashes', async () => {
    const { app } = await setup(0);
    const ids = randomUUID().replaceAll('-', '').padEnd(36, '0');
    const response = await app.request(`/v1/exports/progress?ids=${ids}`);
    await response.body?.cancel();

    expect(response.status).toBe(400);
  });
});
