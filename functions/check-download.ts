/** POST /v1/download/check: whether one source file exists, from a real lookup. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { ObjectStore } from './lib/ports.js';
import { sourceKey } from './lib/preflight.js';
import { fileId } from './lib/schemas.js';

export interface CheckDownloadDeps {
  store: ObjectStore;
  settings: { sourceBucket: string; sourceKeyTemplate: string };
}

export const checkDownload = defineHttp({
  name: 'check-download',
  method: 'POST',
  paths: ['/v1/download/check'],
  input: type({ body: { '+': 'reject', file_id: fileId } }),
  async handler({ body }, deps: CheckDownloadDeps) {
    const key = sourceKey(deps.settings.sourceKeyTemplate, body.file_id);
    const info = await deps.store.head(deps.settings.sourceBucket, key);

    return {
      status: 200,
      body: {
        file_id: body.file_id,
        available: info !== null,
        s3Key: info ? key : null,
        size: info ? info.size : null,
      },
    };
  },
});
