/** GET /v1/files: the source files a user may export, with ids, names and sizes, paged. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import { HttpError } from '../runtime/contract/errors.js';
import { fileNameMetadataKey, safeEntryName } from './lib/entry-name.js';
import type { ListedObject, ObjectStore } from './lib/ports.js';

export interface ListFilesDeps {
  store: ObjectStore;
  settings: { sourceBucket: string; sourceKeyTemplate: string };
}

const input = type({
  query: {
    'limit?': type('string.integer.parse').to('1 <= number <= 100'),
    'cursor?': 'string',
  },
});

export const listFiles = defineHttp({
  name: 'list-files',
  method: 'GET',
  paths: ['/v1/files'],
  input,
  async handler({ query }, deps: ListFilesDeps) {
    const { sourceBucket, sourceKeyTemplate } = deps.settings;
    const [prefix = '', suffix = ''] = sourceKeyTemplate.split('{file_id}');
    const startAfter = query.cursor === undefined ? undefined : decodeCursor(query.cursor, prefix);
    const page = await deps.store.list(sourceBucket, prefix, {
      limit: query.limit ?? 50,
      ...(startAfter ? { startAfter } : {}),
    });

    // Keys that the template cannot have made are not files a user may export.
    const matching = page.objects.flatMap((object) => {
      const fileId = fileIdOf(object, prefix, suffix);
      return fileId === undefined ? [] : [{ object, fileId }];
    });
    const files = await Promise.all(
      matching.map(async ({ object, fileId }) => {
        const info = await deps.store.head(sourceBucket, object.key);
        const fallback = object.key.slice(object.key.lastIndexOf('/') + 1);
        const name = safeEntryName(info?.metadata[fileNameMetadataKey], fallback);
        return { fileId, name, size: object.size };
      }),
    );
    const nextCursor = page.nextStartAfter ? encodeCursor(page.nextStartAfter) : null;

    return { status: 200, body: { files, nextCursor } };
  },
});

function fileIdOf(object: ListedObject, prefix: string, suffix: string): number | undefined {
  if (!object.key.startsWith(prefix) || !object.key.endsWith(suffix)) return undefined;

  const digits = object.key.slice(prefix.length, object.key.length - suffix.length);
  const fileId = /^\d{1,9}$/.test(digits) ? Number(digits) : Number.NaN;

  return fileId >= 10_000 && fileId <= 100_000_000 ? fileId : undefined;
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, prefix: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (key === '' || encodeCursor(key) !== cursor || !key.startsWith(prefix)) {
    const message = 'cursor is invalid; pass the nextCursor of the previous page';
    throw new HttpError(400, 'invalid_request', message, 'cursor');
  }

  return key;
}
