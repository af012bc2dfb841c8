import { describe, expect, it } from 'vitest';

import { type ErrorBody, maxBodyBytes, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import type { ExportSnapshot } from './lib/snapshot.js';

interface InitiatedBody {
  jobId: string;
  status: string;
  totalFileIds: number;
  statusUrl: string;
  subscribeUrl: string;
}

/** Posts `body` as JSON; a null `contentType` sends no Content-Type header. */
async function initiate(body: string, contentType: string | null = 'application/json') {
  const { app, deps } = memoryHttpApp();
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  const response = await app.request('/v1/download/initiate', {
    method: 'POST',
    headers,
    body: new TextEncoder().encode(body),
  });

  return { app, deps, response };
}

async function initiated(fileIds: unknown[]) {
  const result = await initiate(JSON.stringify({ file_ids: fileIds }));

  return { ...result, body: await readJson<InitiatedBody>(result.response) };
}

describe('POST /v1/download/initiate', () => {
  it('returns 200 with the job', async () => {
    const { response, body } = await initiated([10001, 10002]);

    expect(response.status).toBe(200);
    expect(body.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.status).toBe('queued');
    expect(body.totalFileIds).toBe(2);
    expect(body.statusUrl).toBe(`/v1/download/status/${body.jobId}`);
    expect(body.subscribeUrl).toBe(`/v1/download/subscribe/${body.jobId}`);
  });

  it('drops duplicate ids', async () => {
    const { deps, body } = await initiated([10001, 10002, 10001]);
    const record = await deps.records.get(body.jobId);

    expect(body.totalFileIds).toBe(2);
    expect(record?.fileIds).toEqual([10001, 10002]);
  });

  it('enqueues the build', async () => {
    const { deps, body } = await initiated([10001]);

    expect(deps.queue.jobs).toEqual([
      {
        name: 'build-export',
        data: { exportId: body.jobId, fileIds: [10001] },
        options: { jobId: body.jobId, attempts: deps.jobs.attempts },
      },
    ]);
  });

  it('serves the status URL', async () => {
    const { app, body } = await initiated([10001]);
    const response = await app.request(body.statusUrl);
    const snapshot = await readJson<ExportSnapshot>(response);

    expect(response.status).toBe(200);
    expect(snapshot.jobId).toBe(body.jobId);
    expect(snapshot.status).toBe('queued');
  });

  it('serves the subscribe URL', async () => {
    const { app, body } = await initiated([10001]);
    const response = await app.request(body.subscribeUrl);
    await response.body?.cancel();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
  });

  it('accepts 1000 ids', async () => {
    const ids = Array.from({ length: 1000 }, (_, index) => 10000 + index);
    const { response } = await initiated(ids);

    expect(response.status).toBe(200);
  });
});

describe('POST /v1/download/initiate rejections', () => {
  const invalidBodies: Array<[string, string, string]> = [
    ['a string list', '{"file_ids":"10001"}', 'file_ids'],
    ['a number as string', '{"file_ids":["10001"]}', 'file_ids[0]'],
    ['null in the list', '{"file_ids":[10001,null]}', 'file_ids[1]'],
    ['an id below range', '{"file_ids":[9999]}', 'file_ids[0]'],
    ['an id above range', '{"file_ids":[100000001]}', 'file_ids[0]'],
    ['a fractional id', '{"file_ids":[10001.5]}', 'file_ids[0]'],
    ['an empty list', '{"file_ids":[]}', 'file_ids'],
    ['an unknown field', '{"file_ids":[10001],"format":"tar"}', 'format'],
    ['no file_ids', '{}', 'file_ids'],
  ];

  it.each(invalidBodies)('rejects %s', async (_case, body, field) => {
    const { deps, response } = await initiate(body);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe(field);
    expect(deps.queue.jobs).toHaveLength(0);
  });

  it('rejects 1001 ids', async () => {
    const ids = Array.from({ length: 1001 }, (_, index) => 10000 + index);
    const { response } = await initiate(JSON.stringify({ file_ids: ids }));
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe('file_ids');
  });

  it('rejects malformed JSON', async () => {
    const { response } = await initiate('{"file_ids":[10001');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_json');
  });

  it('rejects an empty body', async () => {
    const { response } = await initiate('');

    expect(response.status).toBe(400);
  });

  it('rejects missing Content-Type with 415', async () => {
    const { response } = await initiate('{"file_ids":[10001]}', null);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(415);
    expect(error.field).toBe('Content-Type');
  });

  it('rejects an oversized body with 413', async () => {
    const body = JSON.stringify({ file_ids: [10001], padding: 'x'.repeat(maxBodyBytes) });
    const { response } = await initiate(body);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(413);
    expect(error.code).toBe('payload_too_large');
  });
});
