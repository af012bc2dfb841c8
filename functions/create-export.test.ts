import { describe, expect, it } from 'vitest';

import { type ErrorBody, maxBodyBytes, memoryHttpApp, readJson } from '../test/memory/http-app.js';

interface CreatedBody {
  jobId: string;
  status: string;
  totalFileIds: number;
  statusUrl: string;
  progressUrl: string;
}

/** Posts `body` as bytes; a null `contentType` sends no Content-Type header. */
function postJson(body: string, contentType: string | null = 'application/json') {
  const { app, deps, logger } = memoryHttpApp();
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  // A byte body, unlike a string, gets no default Content-Type from the Request constructor.
  const request = { method: 'POST', headers, body: new TextEncoder().encode(body) };

  return { deps, logger, response: app.request('/v1/export', request) };
}

async function createExport(fileIds: unknown[]) {
  const { deps, logger, response } = postJson(JSON.stringify({ file_ids: fileIds }));
  const awaited = await response;

  return { deps, logger, response: awaited, body: await readJson<CreatedBody>(awaited) };
}

async function rejection(body: string, contentType?: string) {
  const response = await postJson(body, contentType).response;

  return { status: response.status, error: (await readJson<ErrorBody>(response)).error };
}

describe('POST /v1/export', () => {
  it('returns 202 with the job', async () => {
    const { response, body } = await createExport([10001, 10002]);

    expect(response.status).toBe(202);
    expect(body.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.status).toBe('queued');
    expect(body.statusUrl).toBe(`/v1/export/${body.jobId}`);
    expect(body.progressUrl).toBe(`/v1/export/${body.jobId}/progress`);
  });

  it('sets Location to the status URL', async () => {
    const { response, body } = await createExport([10001]);

    expect(response.headers.get('location')).toBe(body.statusUrl);
  });

  it('drops duplicate ids', async () => {
    const { deps, body } = await createExport([10001, 10002, 10001, 10002, 10003]);
    const record = await deps.records.get(body.jobId);

    expect(body.totalFileIds).toBe(3);
    expect(record?.fileIds).toEqual([10001, 10002, 10003]);
  });

  it('stores a queued record', async () => {
    const { deps, body } = await createExport([10001, 10002]);
    const record = await deps.records.get(body.jobId);

    expect(record?.status).toBe('queued');
    expect(record?.version).toBe(1);
    expect(record?.maxAttempts).toBe(deps.jobs.attempts);
    expect(record?.progress.filesTotal).toBe(2);
  });

  it('enqueues the build with attempts', async () => {
    const { deps, body } = await createExport([10001, 10002]);

    expect(deps.queue.jobs).toEqual([
      {
        name: 'build-export',
        data: { exportId: body.jobId, fileIds: [10001, 10002] },
        options: { jobId: body.jobId, attempts: deps.jobs.attempts },
      },
    ]);
  });

  it('accepts the id bounds', async () => {
    const { response } = await createExport([10000, 100000000]);

    expect(response.status).toBe(202);
  });

  it('accepts 1000 ids', async () => {
    const ids = Array.from({ length: 1000 }, (_, index) => 10000 + index);
    const { body } = await createExport(ids);

    expect(body.totalFileIds).toBe(1000);
  });

  it('accepts a charset parameter', async () => {
    const { response } = postJson('{"file_ids":[10001]}', 'application/json; charset=utf-8');

    expect((await response).status).toBe(202);
  });
});

describe('POST /v1/export rejections', () => {
  const invalidBodies: Array<[string, string, string]> = [
    ['a string list', '{"file_ids":"10001"}', 'file_ids'],
    ['a number as string', '{"file_ids":["10001"]}', 'file_ids[0]'],
    ['a later string', '{"file_ids":[10001,"10002"]}', 'file_ids[1]'],
    ['null in the list', '{"file_ids":[10001,null]}', 'file_ids[1]'],
    ['an id below range', '{"file_ids":[9999]}', 'file_ids[0]'],
    ['an id above range', '{"file_ids":[100000001]}', 'file_ids[0]'],
    ['a fractional id', '{"file_ids":[10001.5]}', 'file_ids[0]'],
    ['an empty list', '{"file_ids":[]}', 'file_ids'],
    ['an unknown field', '{"file_ids":[10001],"format":"tar"}', 'format'],
    ['no file_ids', '{}', 'file_ids'],
  ];

  it.each(invalidBodies)('rejects %s', async (_case, body, field) => {
    const { status, error } = await rejection(body);

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it('rejects 1001 ids', async () => {
    const ids = Array.from({ length: 1001 }, (_, index) => 10000 + index);
    const { status, error } = await rejection(JSON.stringify({ file_ids: ids }));

    expect(status).toBe(400);
    expect(error.field).toBe('file_ids');
    expect(error.message).toContain('1000');
  });

  it('names the rejected value', async () => {
    const { error } = await rejection('{"file_ids":[9999]}');

    expect(error.message).toContain('9999');
  });

  it('rejects an array body', async () => {
    const { status, error } = await rejection('[10001]');

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_request');
  });

  it.each(['null', '"10001"', '10001'])('rejects body %s', async (body) => {
    const { status, error } = await rejection(body);

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain('request body');
    expect(error.field).toBeUndefined();
  });

  it('rejects malformed JSON', async () => {
    const { status, error } = await rejection('{"file_ids":[10001');

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_json');
    expect(error.message).toContain('not valid JSON');
  });

  it('rejects an empty body', async () => {
    const { status, error } = await rejection('');

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_request');
  });

  it('rejects text/plain with 415', async () => {
    const { status, error } = await rejection('{"file_ids":[10001]}', 'text/plain');

    expect(status).toBe(415);
    expect(error.code).toBe('unsupported_media_type');
    expect(error.field).toBe('Content-Type');
    expect(error.message).toContain('text/plain');
  });

  it('rejects missing Content-Type with 415', async () => {
    const response = await postJson('{"file_ids":[10001]}', null).response;
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(415);
    expect(error.code).toBe('unsupported_media_type');
    expect(error.field).toBe('Content-Type');
  });

  it('rejects an oversized body with 413', async () => {
    const body = JSON.stringify({ file_ids: [10001], padding: 'x'.repeat(maxBodyBytes) });
    const { status, error } = await rejection(body);

    expect(status).toBe(413);
    expect(error.code).toBe('payload_too_large');
    expect(error.message).toContain(String(maxBodyBytes));
  });

  it('stores nothing on rejection', async () => {
    const { deps, response } = postJson('{"file_ids":[9999]}');
    await response;

    expect(deps.queue.jobs).toHaveLength(0);
  });
});
