import { describe, expect, it } from 'vitest';

import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { sourceKey } from './lib/preflight.js';

interface CheckBody {
  file_id: number;
  available: boolean;
  s3Key: string | null;
  size: number | null;
}

/** Posts `body` as JSON, or with `contentType` when it is given. */
async function check(body: string, contentType = 'application/json') {
  const { app, deps } = memoryHttpApp();
  const key = sourceKey(deps.settings.sourceKeyTemplate, 10001);
  deps.store.put(deps.settings.sourceBucket, key, 'abcde');
  const response = await app.request('/v1/download/check', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });

  return { deps, response };
}

describe('POST /v1/download/check', () => {
  it('finds an existing file', async () => {
    const { response } = await check('{"file_id":10001}');
    const body = await readJson<CheckBody>(response);

    expect(response.status).toBe(200);
    expect(body).toEqual({
      file_id: 10001,
      available: true,
      s3Key: 'downloads/10001.zip',
      size: 5,
    });
  });

  it('reports a missing file', async () => {
    const { response } = await check('{"file_id":10002}');
    const body = await readJson<CheckBody>(response);

    expect(response.status).toBe(200);
    expect(body).toEqual({ file_id: 10002, available: false, s3Key: null, size: null });
  });

  it('creates no export', async () => {
    const { deps, response } = await check('{"file_id":10001}');
    await response.body?.cancel();

    expect(deps.queue.jobs).toHaveLength(0);
  });

  it('follows the key template', async () => {
    const { app, deps } = memoryHttpApp();
    deps.settings.sourceKeyTemplate = 'files/{file_id}/original';
    deps.store.put(deps.settings.sourceBucket, 'files/10001/original', 'abc');
    const response = await app.request('/v1/download/check', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"file_id":10001}',
    });
    const body = await readJson<CheckBody>(response);

    expect(body.s3Key).toBe('files/10001/original');
    expect(body.size).toBe(3);
  });
});

describe('POST /v1/download/check rejections', () => {
  const invalidBodies: Array<[string, string, string]> = [
    ['an id below range', '{"file_id":9999}', 'file_id'],
    ['an id above range', '{"file_id":100000001}', 'file_id'],
    ['a string id', '{"file_id":"10001"}', 'file_id'],
    ['a fractional id', '{"file_id":10001.5}', 'file_id'],
    ['an id list', '{"file_id":[10001]}', 'file_id'],
    ['no file_id', '{}', 'file_id'],
    ['an unknown field', '{"file_id":10001,"force":true}', 'force'],
  ];

  it.each(invalidBodies)('rejects %s', async (_case, body, field) => {
    const { response } = await check(body);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe(field);
  });

  it('names the rejected id', async () => {
    const { response } = await check('{"file_id":9999}');
    const { error } = await readJson<ErrorBody>(response);

    expect(error.message).toContain('9999');
  });

  it('rejects text/plain with 415', async () => {
    const { response } = await check('{"file_id":10001}', 'text/plain');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(415);
    expect(error.code).toBe('unsupported_media_type');
  });

  it('rejects malformed JSON', async () => {
    const { response } = await check('{"file_id":');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_json');
  });
});
