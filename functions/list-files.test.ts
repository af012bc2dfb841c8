import { describe, expect, it } from 'vitest';

import type { MemoryDeps } from '../test/memory/deps.js';
import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { fileNameMetadataKey } from './lib/entry-name.js';
import { sourceKey } from './lib/preflight.js';

interface ListedFile {
  fileId: number;
  name: string;
  size: number;
}

interface FilesPage {
  files: ListedFile[];
  nextCursor: string | null;
}

/** Stores the source of `fileId` under the configured key, with its name URI-encoded. */
function putSource(deps: MemoryDeps, fileId: number, body: string, name?: string) {
  const metadata: Record<string, string> = {};
  if (name !== undefined) metadata[fileNameMetadataKey] = encodeURIComponent(name);
  const key = sourceKey(deps.settings.sourceKeyTemplate, fileId);
  deps.store.put(deps.settings.sourceBucket, key, body, metadata);
}

async function getPage(app: ReturnType<typeof memoryHttpApp>['app'], query = '') {
  const response = await app.request(`/v1/files${query}`);

  return { status: response.status, body: await readJson<FilesPage>(response) };
}

async function rejection(query: string) {
  const { app } = memoryHttpApp();
  const response = await app.request(`/v1/files${query}`);

  return { status: response.status, error: (await readJson<ErrorBody>(response)).error };
}

function cursorOf(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

describe('GET /v1/files', () => {
  it('lists files with ids and sizes', async () => {
    const { app, deps } = memoryHttpApp();
    putSource(deps, 10002, 'bb');
    putSource(deps, 10001, 'a');
    const { status, body } = await getPage(app);

    expect(status).toBe(200);
    expect(body.files.map((file) => file.fileId)).toEqual([10001, 10002]);
    expect(body.files.map((file) => file.size)).toEqual([1, 2]);
    expect(body.nextCursor).toBeNull();
  });

  it('returns an empty first page', async () => {
    const { app } = memoryHttpApp();
    const { status, body } = await getPage(app);

    expect(status).toBe(200);
    expect(body.files).toEqual([]);
    expect(body.nextCursor).toBeNull();
  });

  it('names files from metadata', async () => {
    const { app, deps } = memoryHttpApp();
    putSource(deps, 10001, 'a', 'Quarterly report é.pdf');
    const { body } = await getPage(app);

    expect(body.files[0]?.name).toBe('Quarterly report é.pdf');
  });

  it('makes metadata names safe', async () => {
    const { app, deps } = memoryHttpApp();
    putSource(deps, 10001, 'a', '../../etc/passwd');
    const { body } = await getPage(app);

    expect(body.files[0]?.name).toBe('etc/passwd');
  });

  it('falls back to the key name', async () => {
    const { app, deps } = memoryHttpApp();
    putSource(deps, 10001, 'a');
    const { body } = await getPage(app);

    expect(body.files[0]?.name).toBe('10001.zip');
  });

  it('skips keys off the template', async () => {
    const { app, deps } = memoryHttpApp();
    const bucket = deps.settings.sourceBucket;
    putSource(deps, 10001, 'a');
    for (const key of [
      'downloads/readme.txt',
      'downloads/abc.zip',
      'downloads/9999.zip',
      'downloads/100000001.zip',
      'downloads/10002.zip.bak',
      'downloads/nested/10003.zip',
      'downloads/-10004.zip',
      'other/10005.zip',
    ]) {
      deps.store.put(bucket, key, 'x');
    }
    const { body } = await getPage(app);

    expect(body.files.map((file) => file.fileId)).toEqual([10001]);
  });

  it('follows a custom key template', async () => {
    const { app, deps } = memoryHttpApp();
    deps.settings.sourceKeyTemplate = 'files/id-{file_id}.bin';
    putSource(deps, 10001, 'a');
    deps.store.put(deps.settings.sourceBucket, 'downloads/10002.zip', 'b');
    const { body } = await getPage(app);

    expect(body.files.map((file) => file.fileId)).toEqual([10001]);
    expect(body.files[0]?.name).toBe('id-10001.bin');
  });
});

describe('GET /v1/files paging', () => {
  it('pages with nextCursor', async () => {
    const { app, deps } = memoryHttpApp();
    for (const fileId of [10001, 10002, 10003, 10004, 10005]) putSource(deps, fileId, 'x');
    const first = await getPage(app, '?limit=2');
    const second = await getPage(app, `?limit=2&cursor=${first.body.nextCursor}`);
    const third = await getPage(app, `?limit=2&cursor=${second.body.nextCursor}`);

    expect(first.body.files.map((file) => file.fileId)).toEqual([10001, 10002]);
    expect(second.body.files.map((file) => file.fileId)).toEqual([10003, 10004]);
    expect(third.body.files.map((file) => file.fileId)).toEqual([10005]);
    expect(third.body.nextCursor).toBeNull();
  });

  it('visits every file once', async () => {
    const { app, deps } = memoryHttpApp();
    const fileIds = Array.from({ length: 23 }, (_, index) => 20_000 + index);
    for (const fileId of fileIds) putSource(deps, fileId, 'x');
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;

    do {
      const query: string = cursor === null ? '?limit=5' : `?limit=5&cursor=${cursor}`;
      const { body } = await getPage(app, query);
      seen.push(...body.files.map((file) => file.fileId));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);

    expect(seen).toEqual(fileIds);
    expect(pages).toBe(5);
  });

  it('defaults to 50 per page', async () => {
    const { app, deps } = memoryHttpApp();
    for (let index = 0; index < 51; index++) putSource(deps, 30_000 + index, 'x');
    const { body } = await getPage(app);

    expect(body.files).toHaveLength(50);
    expect(body.nextCursor).not.toBeNull();
  });

  it.each(['1', '100'])('accepts limit %s', async (limit) => {
    const { app, deps } = memoryHttpApp();
    putSource(deps, 10001, 'x');
    const { status } = await getPage(app, `?limit=${limit}`);

    expect(status).toBe(200);
  });

  it.each(['0', '101', '-1', '2.5', 'ten', ''])('rejects limit "%s"', async (limit) => {
    const { status, error } = await rejection(`?limit=${limit}`);

    expect(status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('limit');
  });

  it.each(['not a cursor!', '', '%00', 'ZG93bmxvYWRzLzEwMDAx='])(
    'rejects cursor "%s"',
    async (cursor) => {
      const { status, error } = await rejection(`?cursor=${encodeURIComponent(cursor)}`);

      expect(status).toBe(400);
      expect(error.code).toBe('invalid_request');
      expect(error.field).toBe('cursor');
    },
  );

  it('rejects a cursor off the prefix', async () => {
    const { status, error } = await rejection(`?cursor=${cursorOf('exports/secret.zip')}`);

    expect(status).toBe(400);
    expect(error.field).toBe('cursor');
  });
});
