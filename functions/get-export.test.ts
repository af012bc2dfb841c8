import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { type ExportSnapshot, newRecord } from './lib/snapshot.js';

async function setup() {
  const { app, deps, logger } = memoryHttpApp();
  const exportId = randomUUID();
  await deps.records.create(newRecord(exportId, [10001, 10002], 3, new Date(deps.clock.now())));

  return { app, deps, logger, exportId };
}

async function completeExport(deps: Awaited<ReturnType<typeof setup>>['deps'], exportId: string) {
  const artifact = {
    bucket: deps.settings.exportBucket,
    key: `exports/${exportId}.zip`,
    fileName: `export-${exportId}.zip`,
    size: 2048,
    sha256: 'ab'.repeat(32),
  };

  return deps.records.update(exportId, (record) => ({
    ...record,
    status: 'completed',
    downloadUrl: 'http://127.0.0.1:9000/exports/x.zip',
    expiresAt: '2026-01-05T10:00:00.000Z',
    artifact,
  }));
}

describe('GET /v1/export/:id', () => {
  it('returns the snapshot', async () => {
    const { app, deps, exportId } = await setup();
    const response = await app.request(`/v1/export/${exportId}`);
    const body = await readJson<ExportSnapshot>(response);
    const record = await deps.records.get(exportId);

    expect(response.status).toBe(200);
    expect(body.jobId).toBe(exportId);
    expect(body.status).toBe('queued');
    expect(body.version).toBe(record?.version);
    expect(body.progress).toEqual(record?.progress);
  });

  it('hides the id list', async () => {
    const { app, exportId } = await setup();
    const body = await readJson<ExportSnapshot>(await app.request(`/v1/export/${exportId}`));

    expect(body).not.toHaveProperty('fileIds');
  });

  it('shows the zip, not the artifact', async () => {
    const { app, deps, exportId } = await setup();
    const record = await completeExport(deps, exportId);
    const body = await readJson<ExportSnapshot>(await app.request(`/v1/export/${exportId}`));

    expect(body).not.toHaveProperty('artifact');
    expect(body.zip).toEqual({
      fileName: record.artifact?.fileName,
      size: record.artifact?.size,
      sha256: record.artifact?.sha256,
    });
    expect(body.downloadUrl).toBe(record.downloadUrl);
  });

  it('leaks no bucket or key', async () => {
    const { app, deps, exportId } = await setup();
    const record = await completeExport(deps, exportId);
    const text = await (await app.request(`/v1/export/${exportId}`)).text();

    expect(text).not.toContain(`"${record.artifact?.key}"`);
    expect(text).not.toContain('"bucket"');
  });

  it('responds on the old status path', async () => {
    const { app, exportId } = await setup();
    const current = await readJson<ExportSnapshot>(await app.request(`/v1/export/${exportId}`));
    const response = await app.request(`/v1/download/status/${exportId}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(current);
  });

  it('returns 404 for unknown id', async () => {
    const { app } = await setup();
    const unknownId = randomUUID();
    const response = await app.request(`/v1/export/${unknownId}`);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(404);
    expect(error.code).toBe('not_found');
    expect(error.field).toBe('id');
    expect(error.message).toContain(unknownId);
  });

  const invalidIdPaths = ['/v1/export/12345', '/v1/download/status/not-a-uuid'];

  it.each(invalidIdPaths)('returns 400 for %s', async (path) => {
    const { app } = await setup();
    const response = await app.request(path);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('id');
  });

  it('returns 500 when records throw', async () => {
    const { app, deps, exportId } = await setup();
    deps.records.get = async () => {
      throw new Error('connection reset by peer');
    };
    const response = await app.request(`/v1/export/${exportId}`);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(500);
    expect(error.code).toBe('internal');
    expect(error.message).not.toContain('connection reset');
  });

  it('logs one error on a 500', async () => {
    const { app, deps, logger, exportId } = await setup();
    const failure = new Error('connection reset by peer');
    deps.records.get = async () => {
      throw failure;
    };
    await app.request(`/v1/export/${exportId}`);

    const errors = logger.at('error');

    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields.err).toBe(failure);
  });

  it('logs no error on a 404', async () => {
    const { app, logger } = await setup();
    await app.request(`/v1/export/${randomUUID()}`);

    expect(logger.at('error')).toHaveLength(0);
  });
});

describe('unknown routes', () => {
  it('returns 404 JSON', async () => {
    const { app } = await setup();
    const response = await app.request('/v1/no-such-route');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(404);
    expect(error.code).toBe('not_found');
  });
});
