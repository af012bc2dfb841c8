/** GET /v1/exports: the caller's exports, newest first, paged. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { JobRecords } from './lib/ports.js';
import { toSnapshot } from './lib/snapshot.js';

export interface ListExportsDeps {
  records: JobRecords;
}

const input = type({
  query: {
    'limit?': type('string.integer.parse').to('1 <= number <= 100'),
    // The creation time, in ms, of the last export of the previous page.
    'cursor?': type('string.integer.parse').to('number >= 0'),
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
      ...(query.cursor === undefined ? {} : { before: query.cursor }),
    });
    const last = records.at(-1);
    const nextCursor = records.length === limit && last ? String(Date.parse(last.createdAt)) : null;

    return { status: 200, body: { exports: records.map(toSnapshot), nextCursor } };
  },
});
