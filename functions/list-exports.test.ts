import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { anonymousOwner } from '../runtime/contract/define.js';
import type { MemoryDeps } from '../test/memory/deps.js';
import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { type ExportSnapshot, newRecord } from './lib/snapshot.js';

interface ExportsPage {
  exports: ExportSnapshot[];
  nextCursor: string | null;
}

const startMs = Date.parse('2026-01-05T09:00:00.000Z');

/** Stores one queued record per offset, created `offset` seconds after `startMs`. */
async function createRecords(deps: MemoryDeps, offsets: number[], owner = anonymousOwner) {
  const ids: string[] = [];
  for (const offset of offsets) {
    const id = randomUUID();
    await deps.records.create(newRecord(id, [10001], 3, new Date(startMs + offset * 1000), owner));
    ids.push(id);
  }

  return ids;
}

async function getPage(app: ReturnType<typeof memoryHttpApp>['app'], query = '') {
  const response = await app.request(`/v1/exports${query}`);

  return { status: response.status, body: await readJson<ExportsPage>(response) };
}

async function rejection(query: string) {
  const { app } = memoryHttpApp();
  const response = await app.request(`/v1/exports${query}`);

  return { status: response.status, error: (await readJson<ErrorBody>(response)).error };
}

describe('GET /v1/exports', () => {
  it('lists newest first', async () => {
    const { app, deps } = memoryHttpApp();
    const [oldest, middle, newest] = await createRecords(deps, [0, 10, 20]);
    const { status, body } = await getPage(app);

    expect(status).toBe(200);
    expect(body.exports.map((snapshot) => snapshot.jobId)).toEqual([newest, middle, oldest]);
    expect(body.nextCursor).toBeNull();
  });

  it('returns an empty list', async () => {
    const { app } = memoryHttpApp();
    const { body } = await getPage(app);

    expect(body.exports).toEqual([]);
    expect(body.nextCursor).toBeNull();
  });

  it('lists exports created through the API', async () => {
    const { app } = memoryHttpApp();
    const created = await app.request('/v1/export', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ file_ids: [10001] }),
    });
    const { jobId } = await readJson<{ jobId: string }>(created);
    const { body } = await getPage(app);

    expect(body.exports.map((snapshot) => snapshot.jobId)).toEqual([jobId]);
  });

  it('lists only the caller’s exports', async () => {
    const { app, deps } = memoryHttpApp();
    const [own] = await createRecords(deps, [0]);
    await createRecords(deps, [10, 20], 'another-owner');
    const { body } = await getPage(app);

    expect(body.exports.map((snapshot) => snapshot.jobId)).toEqual([own]);
  });

  it('hides internal fields', async () => {
    const { app, deps } = memoryHttpApp();
    await createRecords(deps, [0]);
    const { body } = await getPage(app);

    expect(body.exports[0]).not.toHaveProperty('fileIds');
    expect(body.exports[0]).not.toHaveProperty('owner');
    expect(body.exports[0]).not.toHaveProperty('artifact');
  });
});

describe('GET /v1/exports paging', () => {
  it('pages by cursor', async () => {
    const { app, deps } = memoryHttpApp();
    const ids = await createRecords(deps, [0, 10, 20, 30, 40]);
    const newestFirst = [...ids].reverse();
    const first = await getPage(app, '?limit=2');
    const second = await getPage(app, `?limit=2&cursor=${first.body.nextCursor}`);
    const third = await getPage(app, `?limit=2&cursor=${second.body.nextCursor}`);

    expect(first.body.exports.map((snapshot) => snapshot.jobId)).toEqual(newestFirst.slice(0, 2));
    expect(second.body.exports.map((snapshot) => snapshot.jobId)).toEqual(newestFirst.slice(2, 4));
    expect(third.body.exports.map((snapshot) => snapshot.jobId)).toEqual(newestFirst.slice(4));
    expect(third.body.nextCursor).toBeNull();
  });

  it('sets the cursor to the last export', async () => {
    const { app, deps } = memoryHttpApp();
    await createRecords(deps, [0, 10, 20]);
    const { body } = await getPage(app, '?limit=2');

    expect(body.nextCursor).toBe(`${startMs + 10_000}.${body.exports[1]?.jobId}`);
  });

  it('defaults to 20 per page', async () => {
    const { app, deps } = memoryHttpApp();
    await createRecords(deps, Array.from({ length: 21 }, (_, index) => index));
    const { body } = await getPage(app);

    expect(body.exports).toHaveLength(20);
    expect(body.nextCursor).not.toBeNull();
  });

  it('keeps exports of the same millisecond', async () => {
    const { app, deps } = memoryHttpApp();
    const ids = await createRecords(deps, [0, 0, 0]);
    const first = await getPage(app, '?limit=2');
    const second = await getPage(app, `?limit=2&cursor=${first.body.nextCursor}`);
    const listed = [...first.body.exports, ...second.body.exports].map((s) => s.jobId);

    expect(listed.sort()).toEqual([...ids].sort());
  });

  it.each(['1', '100'])('accepts limit %s', async (limit) => {
    const { app } = memoryHttpApp();
    const { status } = await getPage(app, `?limit=${limit}`);

    expect(status).toBe(200);
  });

  it.each(['0', '101', '1.5', 'many'])('rejects limit "%s"', async (limit) => {
    const { status, error } = await rejection(`?limit=${limit}`);

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('limit');
  });

  it.each(['-1', 'yesterday', '1e3'])('rejects cursor "%s"', async (cursor) => {
    const { status, error } = await rejection(`?cursor=${cursor}`);

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('cursor');
  });
});
