/** POST /v1/export: records a queued export and enqueues its zip build. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import { exportPaths, fileIdList } from './lib/schemas.js';
import { startExport, type StartExportDeps } from './lib/start-export.js';

export type CreateExportDeps = StartExportDeps;

const input = type({
  body: {
    '+': 'reject',
    file_ids: fileIdList,
  },
});

export const createExport = defineHttp({
  name: 'create-export',
  method: 'POST',
  paths: ['/v1/export'],
  input,
  rateLimit: 'create',
  async handler({ body }, deps: CreateExportDeps, context) {
    const record = await startExport(body.file_ids, deps, context);
    const paths = exportPaths(record.jobId);

    return {
      status: 202,
      headers: { Location: paths.status },
      body: {
        jobId: record.jobId,
        status: record.status,
        totalFileIds: record.fileIds.length,
        statusUrl: paths.status,
        progressUrl: paths.progress,
      },
    };
  },
});
