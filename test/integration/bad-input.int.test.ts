import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningService, startService } from '../support/service.js';

/** One rejected request body and the error response the API must send. */
interface BodyCase {
  name: string;
  body: string;
  status: number;
  code: string;
  /** The expected `error.field`, or undefined when the problem has no single field. */
  field?: string;
}

const idList = (count: number) => Array.from({ length: count }, (_, index) => 10_000 + index);

const bodyCases: BodyCase[] = [
  { name: 'malformed JSON', body: '{"file_ids": [70000,', status: 400, code: 'invalid_json' },
  { name: 'empty body', body: '', status: 400, code: 'invalid_request' },
  { name: 'null body', body: 'null', status: 400, code: 'invalid_request' },
  // An array is an object without file_ids to arktype, so the missing field is named.
  { name: 'array body', body: '[70000]', status: 400, code: 'invalid_request', field: 'file_ids' },
  { name: 'missing file_ids', body: '{}', status: 400, code: 'invalid_request', field: 'file_ids' },
  ...[
    ['file_ids as string', '"70000"'],
    ['file_ids as number', '70000'],
    ['file_ids as object', '{"0": 70000}'],
    ['file_ids as null', 'null'],
    ['empty file_ids', '[]'],
    ['1001 file_ids', JSON.stringify(idList(1001))],
  ].map(([name, value]) => ({
    name: name!,
    body: `{"file_ids": ${value}}`,
    status: 400,
    code: 'invalid_request',
    field: 'file_ids',
  })),
  ...[
    ['id as string', '["70000"]', 'file_ids[0]'],
    ['second id as string', '[70000, "70001"]', 'file_ids[1]'],
    ['id below range', '[9999]', 'file_ids[0]'],
    ['id above range', '[100000001]', 'file_ids[0]'],
    ['negative id', '[-70000]', 'file_ids[0]'],
    ['fractional id', '[70000.5]', 'file_ids[0]'],
    ['overflowing id', '[1e400]', 'file_ids[0]'],
    ['null id', '[null]', 'file_ids[0]'],
    ['boolean id', '[true]', 'file_ids[0]'],
    ['nested array id', '[[70000]]', 'file_ids[0]'],
  ].map(([name, value, field]) => ({
    name: name!,
    body: `{"file_ids": ${value}}`,
    status: 400,
    code: 'invalid_request',
    field: field!,
  })),
  {
    name: 'unknown field',
    body: '{"file_ids": [70000], "priority": 1}',
    status: 400,
    code: 'invalid_request',
    field: 'priority',
  },
];

const missingExportId = '6f1b7a3e-2c4d-4e5f-8a9b-0c1d2e3f4a5b';
const exportPaths = [
  (id: string) => `/v1/export/${id}`,
  (id: string) => `/v1/export/${id}/progress`,
  (id: string) => `/v1/download/status/${id}`,
  (id: string) => `/v1/download/subscribe/${id}`,
];

let service: RunningService;

beforeAll(async () => {
  service = await startService({ worker: false });
});

afterAll(async () => {
  await service?.stop();
});

describe('POST /v1/export body', () => {
  it.each(bodyCases)('rejects $name', async ({ body, status, code, field }) => {
    const response = await postExport(body, 'application/json');
    const error = await errorOf(response);

    expect(response.status).toBe(status);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('names a misspelt field', async () => {
    const response = await postExport('{"fileIds": [70000]}', 'application/json');
    const error = await errorOf(response);

    expect(response.status).toBe(400);
    expect(['fileIds', 'file_ids']).toContain(error.field);
  });

  it('accepts a charset parameter', async () => {
    const response = await postExport('{"file_ids": [70000]}', 'application/json; charset=utf-8');

    expect(response.status).toBe(202);
  });

  it('accepts 1000 file_ids', async () => {
    const body = JSON.stringify({ file_ids: idList(1000) });
    const response = await postExport(body, 'application/json');

    expect(response.status).toBe(202);
  });
});

describe('POST /v1/export media type', () => {
  it.each([
    ['text/plain', 'text/plain'],
    ['form data', 'application/x-www-form-urlencoded'],
    ['a JSON look-alike', 'application/jsonp'],
  ])('rejects %s with 415', async (_name, contentType) => {
    const response = await postExport('{"file_ids": [70000]}', contentType);
    const error = await errorOf(response);

    expect(response.status).toBe(415);
    expect(error.code).toBe('unsupported_media_type');
    expect(error.field).toBe('Content-Type');
  });

  it('rejects a missing Content-Type', async () => {
    const body = new TextEncoder().encode('{"file_ids": [70000]}');
    const response = await fetch(`${service.url}/v1/export`, { method: 'POST', body });

    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.status).toBe(415);
  });
});

describe('POST /v1/export size limit', () => {
  it('rejects an oversized body', async () => {
    const response = await postExport(oversizedBody(), 'application/json');
    const error = await errorOf(response);

    expect(response.status).toBe(413);
    expect(error.code).toBe('payload_too_large');
  });

  it('rejects an oversized chunked body', async () => {
    const bytes = new TextEncoder().encode(oversizedBody());
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 8_192) {
          controller.enqueue(bytes.subarray(offset, offset + 8_192));
        }
        controller.close();
      },
    });
    const response = await fetch(`${service.url}/v1/export`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);

    expect(response.status).toBe(413);
  });
});

describe('export id in the path', () => {
  it.each(exportPaths.map((path) => [path(missingExportId), path]))(
    'answers 404 for %s',
    async (url) => {
      const response = await fetch(`${service.url}${url}`);
      const error = await errorOf(response);

      expect(response.status).toBe(404);
      expect(error.code).toBe('not_found');
      expect(error.field).toBe('id');
    },
  );

  it.each(exportPaths.map((path) => [path('not-a-uuid'), path]))(
    'answers 400 for %s',
    async (url) => {
      const response = await fetch(`${service.url}${url}`);
      const error = await errorOf(response);

      expect(response.status).toBe(400);
      expect(error.field).toBe('id');
    },
  );

  it('rejects a non-numeric Last-Event-ID', async () => {
    const response = await fetch(`${service.url}/v1/export/${missingExportId}/progress`, {
      headers: { 'Last-Event-ID': 'abc' },
    });
    const error = await errorOf(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe('last-event-id');
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/v1/export'],
    ['PUT', '/v1/export'],
    ['DELETE', `/v1/export/${missingExportId}`],
    ['GET', '/v2/export'],
  ])('answers %s %s with a 4xx', async (method, path) => {
    const response = await fetch(`${service.url}${path}`, { method });
    await response.body?.cancel();

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });
});

function postExport(body: string, contentType: string): Promise<Response> {
  return fetch(`${service.url}/v1/export`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body,
  });
}

/** Parses the error body, which every rejection must send as JSON. */
async function errorOf(response: Response) {
  const text = await response.text();
  const parsed = JSON.parse(text) as { error?: { code: string; message: string; field?: string } };
  if (!parsed.error) {
    throw new Error(`The ${response.status} response has no error object: ${text}`);
  }

  return parsed.error;
}

/** Returns a valid request padded past MAX_BODY_BYTES (64 KiB by default) with an unknown field. */
function oversizedBody(): string {
  const padding = 'x'.repeat(service.config.api.maxBodyBytes);

  return JSON.stringify({ file_ids: [70_000], padding });
}
