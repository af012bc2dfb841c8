/** POST /v1/export/:id/retry: starts a new export of the same files as a failed one. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import { HttpError } from '../runtime/contract/errors.js';
import { exportIdParams, exportNotFound, exportPaths } from './lib/schemas.js';
import { startExport, type StartExportDeps } from './lib/start-export.js';

export type RetryExportDeps = StartExportDeps;

export const retryExport = defineHttp({
  name: 'retry-export',
  method: 'POST',
  paths: ['/v1/export/:id/retry'],
  input: type({ params: exportIdParams }),
  rateLimit: 'create',
  // The request needs no body; the files come from the failed export's record.
  acceptsEmptyBody: true,
  async handler({ params }, deps: RetryExportDeps, context) {
    const failed = await deps.records.get(params.id);
    if (!failed || failed.owner !== context.owner) throw exportNotFound(params.id);
    if (failed.status !== 'failed') {
      const message = `Export ${params.id} is ${failed.status}; only a failed export can be retried`;
      throw new HttpError(409, 'conflict', message, 'id');
    }

    const record = await startExport(failed.fileIds, deps, context);
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
        retryOf: params.id,
      },
    };
  },
});
