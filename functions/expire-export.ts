/**
 * The `expire-export` job: deletes an export's zip once the artifact retention has passed. The
 * record says `expired` from then on, until the record itself expires.
 */
import { type } from 'arktype';

import { defineJob } from '../runtime/contract/define.js';
import type { Clock, JobRecords, ObjectStore } from './lib/ports.js';

export interface ExpireExportDeps {
  records: JobRecords;
  store: ObjectStore;
  clock: Clock;
}

export const expireExport = defineJob({
  name: 'expire-export',
  queue: 'exports',
  expectedDurationSeconds: 30,
  input: type({ exportId: 'string.uuid' }),
  async handler({ exportId }, deps: ExpireExportDeps) {
    const record = await deps.records.get(exportId);
    const artifact = record?.artifact;
    if (!artifact) return;

    await deps.store.delete(artifact.bucket, artifact.key);
    await deps.records.update(exportId, (current) => {
      const { downloadUrl: _url, artifact: _artifact, ...rest } = current;
      // A cancelled export whose zip finished anyway keeps saying cancelled.
      const status = current.status === 'completed' ? 'expired' : current.status;
      return { ...rest, status, updatedAt: new Date(deps.clock.now()).toISOString() };
    });
  },
});
