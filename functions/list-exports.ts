/** GET /v1/exports: the caller's exports, newest first, paged. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { JobRecords, ListPosition } from './lib/ports.js';
import { toSnapshot } from './lib/snapshot.js';

export interface ListExportsDeps {
  records: JobRecords;
}

const input = type({
  query: {
    'limit?': type('string.integer.parse').to('1 <= number <= 100'),
    // The last export of the previous page: its creation time in ms, a dot, its id.
    'cursor?': /^\d{1,15}\.[0-9a-f-]{36}$/,
  },
});

export const listExports = defineHttp({
  name: 'list-exports',
  method: 'GET',
  paths: ['/v1/exports'],
  access: 'read',
  input,
  async handler({ query }, deps: ListExportsDeps, context) {
    const limit = query.limit ?? 20;
    const records = await deps.records.listByOwner(context.owner, {
      limit,
      ...(query.cursor === undefined ? {} : { after: parseCursor(query.cursor) }),
    });
    const last = records.at(-1);
    const nextCursor =
      records.length === limit && last ? `${Date.parse(last.createdAt)}.${last.jobId}` : null;

    return { status: 200, body: { exports: records.map(toSnapshot), nextCursor } };
  },
});

function parseCursor(cursor: string): ListPosition {
  const dot = cursor.indexOf('.');

  return { createdAt: Number(cursor.slice(0, dot)), jobId: cursor.slice(dot + 1) };
}
