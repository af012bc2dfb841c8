/**
 * GET /v1/export/:id/download: redirects to a freshly signed URL of the export's zip, so a
 * link keeps working after the URL in the snapshot has expired.
 */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import { HttpError } from '../runtime/contract/errors.js';
import type { JobRecords, UrlSigner } from './lib/ports.js';
import { exportIdParams, exportNotFound } from './lib/schemas.js';

export interface DownloadExportDeps {
  records: JobRecords;
  signer: UrlSigner;
  settings: { downloadUrlTtlSeconds: number };
}

export const downloadExport = defineHttp({
  name: 'download-export',
  method: 'GET',
  paths: ['/v1/export/:id/download'],
  access: 'read',
  input: type({ params: exportIdParams }),
  async handler({ params }, deps: DownloadExportDeps, context) {
    const record = await deps.records.get(params.id);
    if (!record || record.owner !== context.owner) throw exportNotFound(params.id);
    if (record.status === 'expired') {
      throw new HttpError(410, 'expired', `The zip of export ${params.id} has been deleted`, 'id');
    }
    if (record.status !== 'completed' || !record.artifact) {
      const message = `Export ${params.id} is ${record.status}; only a completed one has a zip`;
      throw new HttpError(409, 'not_ready', message, 'id');
    }

    const { bucket, key, fileName } = record.artifact;
    const url = await deps.signer.signDownload(bucket, key, {
      expiresInSeconds: deps.settings.downloadUrlTtlSeconds,
      fileName,
    });

    return { status: 302, headers: { Location: url, 'Cache-Control': 'no-store' }, body: undefined };
  },
});
