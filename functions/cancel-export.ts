/**
 * DELETE /v1/export/:id: cancels an export. A queued job is removed from the queue; a running
 * one sees the `cancelled` record through its subscription, in whichever worker process it
 * runs, and stops and aborts its upload.
 */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import { HttpError } from '../runtime/contract/errors.js';
import type { Clock, JobQueue, JobRecords } from './lib/ports.js';
import { type NotifyDeps, notifyEnded } from './lib/notify-ended.js';
import { exportIdParams, exportNotFound } from './lib/schemas.js';
import { terminalStatuses, toSnapshot } from './lib/snapshot.js';

export interface CancelExportDeps extends NotifyDeps {
  records: JobRecords;
  queue: JobQueue;
  clock: Clock;
}

export const cancelExport = defineHttp({
  name: 'cancel-export',
  method: 'DELETE',
  paths: ['/v1/export/:id'],
  input: type({ params: exportIdParams }),
  rateLimit: 'create',
  async handler({ params }, deps: CancelExportDeps, context) {
    const current = await deps.records.get(params.id);
    if (!current || current.owner !== context.owner) throw exportNotFound(params.id);

    let ended: string | undefined;
    const record = await deps.records.update(params.id, (latest) => {
      if (terminalStatuses.has(latest.status)) {
        ended = latest.status;
        return latest;
      }
      return { ...latest, status: 'cancelled', updatedAt: new Date(deps.clock.now()).toISOString() };
    });
    if (ended) {
      throw new HttpError(409, 'conflict', `Export ${params.id} is already ${ended}`, 'id');
    }

    // A job no worker has taken yet is removed; a running one stops on the record change.
    await deps.queue.remove(params.id);
    await notifyEnded(record, deps);

    return { status: 200, body: toSnapshot(record) };
  },
});
