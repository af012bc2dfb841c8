/** GET /v1/export/:id: the current snapshot of one export. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { JobRecords } from './lib/ports.js';
import { exportIdParams, exportNotFound } from './lib/schemas.js';
import { toSnapshot } from './lib/snapshot.js';

export interface GetExportDeps {
  records: JobRecords;
}

export const getExport = defineHttp({
  name: 'get-export',
  method: 'GET',
  // The second path is the older download API's, kept for its clients.
  paths: ['/v1/export/:id', '/v1/download/status/:id'],
  access: 'read',
  input: type({ params: exportIdParams }),
  async handler({ params }, deps: GetExportDeps, context) {
    const record = await deps.records.get(params.id);
    if (!record || record.owner !== context.owner) throw exportNotFound(params.id);

    return { status: 200, body: toSnapshot(record) };
  },
});

