import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { type ExportRecord, type ExportStatus, newRecord } from './lib/snapshot.js';

interface RetriedBody {
  jobId: string;
  status: string;
  totalFileIds: number;
  statusUrl: string;
  progressUrl: string;
  retryOf: string;
}

const fileIds = [10001, 10002, 10003];

async function setup(status: ExportStatus = 'failed', owner?: string) {
  const { app, deps } = memoryHttpApp();
  const exportId: string = randomUUID();
  await deps.records.create(newRecord(exportId, fileIds, 3, new Date(deps.clock.now()), owner));
  if (status !== 'queued') {
    await deps.records.update(exportId, (record): ExportRecord => ({ ...record, status }));
  }

  /** Posts with no body and no Content-Type unless `init` sets them. */
  const retry = (id = exportId, init: RequestInit = {}) =>
    app.request(`/v1/export/${id}/retry`, { method: 'POST', ...init });

  return { app, deps, exportId, retry };
}

describe('POST /v1/export/:id/retry', () => {
  it('returns 202 with a new job', async () => {
    const { exportId, retry } = await setup();
    const response = await retry();
    const body = await readJson<RetriedBody>(response);

    expect(response.status).toBe(202);
    expect(body.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.jobId).not.toBe(exportId);
    expect(body.retryOf).toBe(exportId);
    expect(body.status).toBe('queued');
    expect(body.totalFileIds).toBe(fileIds.length);
    expect(body.statusUrl).toBe(`/v1/export/${body.jobId}`);
    expect(body.progressUrl).toBe(`/v1/export/${body.jobId}/progress`);
  });

  it('sets Location to the new status URL', async () => {
    const { retry } = await setup();
    const response = await retry();
    const body = await readJson<RetriedBody>(response);

    expect(response.headers.get('location')).toBe(body.statusUrl);
  });

  it('stores a record of the same files', async () => {
    const { deps, retry } = await setup();
    const body = await readJson<RetriedBody>(await retry());
    const record = await deps.records.get(body.jobId);

    expect(record?.status).toBe('queued');
    expect(record?.fileIds).toEqual(fileIds);
    expect(record?.version).toBe(1);
  });

  it('enqueues a build of the same files', async () => {
    const { deps, retry } = await setup();
    const body = await readJson<RetriedBody>(await retry());

    expect(deps.queue.jobs).toEqual([
      {
        name: 'build-export',
        data: { exportId: body.jobId, fileIds },
        options: { jobId: body.jobId, attempts: deps.jobs.attempts },
      },
    ]);
  });

  it('leaves the failed record as it was', async () => {
    const { deps, exportId, retry } = await setup();
    const before = await deps.records.get(exportId);
    await retry();

    expect(await deps.records.get(exportId)).toEqual(before);
  });

  it('accepts a JSON body', async () => {
    const { retry } = await setup();
    const response = await retry(undefined, {
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

    expect(response.status).toBe(202);
  });

  it('accepts no body and no Content-Type', async () => {
    const { retry } = await setup();
    const response = await retry();

    expect(response.status).toBe(202);
    expect(response.headers.get('content-type')).toContain('application/json');
  });

  it('accepts an empty byte body', async () => {
    const { retry } = await setup();
    const response = await retry(undefined, { body: new Uint8Array() });

    expect(response.status).toBe(202);
  });

  it('allows retrying the same export twice', async () => {
    const { retry } = await setup();
    const first = await readJson<RetriedBody>(await retry());
    const second = await readJson<RetriedBody>(await retry());

    expect(second.jobId).not.toBe(first.jobId);
  });
});

describe('POST /v1/export/:id/retry rejections', () => {
  it.each<ExportStatus>(['queued', 'processing', 'completed'])(
    'returns 409 when %s',
    async (status) => {
      const { deps, exportId, retry } = await setup(status);
      const response = await retry();
      const { error } = await readJson<ErrorBody>(response);

      expect(response.status).toBe(409);
      expect(error.code).toBe('conflict');
      expect(error.field).toBe('id');
      expect(error.message).toContain(status);
      expect(error.message).toContain(exportId);
      expect(deps.queue.jobs).toHaveLength(0);
    },
  );

  it('returns 404 for unknown id', async () => {
    const { retry } = await setup();
    const unknownId = randomUUID();
    const response = await retry(unknownId);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(404);
    expect(error.code).toBe('not_found');
    expect(error.message).toContain(unknownId);
  });

  it('returns 404 for another owner', async () => {
    const { deps, retry } = await setup('failed', 'another-owner');
    const response = await retry();
    await response.body?.cancel();

    expect(response.status).toBe(404);
    expect(deps.queue.jobs).toHaveLength(0);
  });

  it('returns 400 for a non-UUID id', async () => {
    const { retry } = await setup();
    const response = await retry('12345');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe('id');
  });

  it('rejects a non-JSON body with 415', async () => {
    const { retry } = await setup();
    const response = await retry(undefined, {
      headers: { 'content-type': 'text/plain' },
      body: 'again please',
    });
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(415);
    expect(error.code).toBe('unsupported_media_type');
  });
});
