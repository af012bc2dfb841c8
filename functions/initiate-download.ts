/** POST /v1/download/initiate: the older API's way to start an export, which responds with 200. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import { exportPaths, fileIdList } from './lib/schemas.js';
import { startExport, type StartExportDeps } from './lib/start-export.js';

export type InitiateDownloadDeps = StartExportDeps;

export const initiateDownload = defineHttp({
  name: 'initiate-download',
  method: 'POST',
  paths: ['/v1/download/initiate'],
  input: type({ body: { '+': 'reject', file_ids: fileIdList } }),
  rateLimit: 'create',
  async handler({ body }, deps: InitiateDownloadDeps, context) {
    const record = await startExport(body.file_ids, deps, context);

    return {
      status: 200,
      body: {
        jobId: record.jobId,
        status: record.status,
        totalFileIds: record.fileIds.length,
        statusUrl: `/v1/download/status/${record.jobId}`,
        subscribeUrl: `/v1/download/subscribe/${record.jobId}`,
      },
    };
  },
});
