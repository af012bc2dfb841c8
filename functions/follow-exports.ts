/**
 * GET /v1/exports/progress?ids=…: several exports on one Server-Sent Events stream. Browsers
 * open at most 6 connections per host over HTTP/1.1, so a page following many exports needs
 * one stream for all of them.
 */
import { setMaxListeners } from 'node:events';

import { type } from 'arktype';

import { defineSse } from '../runtime/contract/define.js';
import { HttpError } from '../runtime/contract/errors.js';
import { mergeIterables } from './lib/merge-iterables.js';
import type { JobEvents, JobRecords } from './lib/ports.js';
import { type ExportRecord, sharedSnapshot, terminalStatuses } from './lib/snapshot.js';

export interface FollowExportsDeps {
  records: JobRecords;
  events: JobEvents;
}

/** Streams one page may follow at once. */
const maxIds = 50;

const uuid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const uuidList = type(new RegExp(`^${uuid}(,${uuid})*$`));

/**
 * Sends each export's current snapshot, then its changes, each frame naming its export in the
 * snapshot's `jobId`. Unknown ids get one `not_found` frame. Frames carry no `id:`, because one
 * id cannot say how far each export got; a reconnecting client gets every snapshot again.
 * The stream ends once every known export has ended.
 */
export const followExports = defineSse({
  name: 'follow-exports',
  method: 'GET',
  paths: ['/v1/exports/progress'],
  access: 'read',
  input: type({ query: { ids: uuidList } }),
  async *handler({ query }, deps: FollowExportsDeps, context) {
    const ids = [...new Set(query.ids.toLowerCase().split(','))];
    if (ids.length > maxIds) {
      throw new HttpError(400, 'invalid_request', `ids may name at most ${maxIds} exports`, 'ids');
    }

    // Each subscription listens on the one signal; up to 50 of them are expected, not a leak.
    setMaxListeners(ids.length * 2 + 10, context.signal);
    const updates = await Promise.all(ids.map((id) => deps.events.subscribe(id, context.signal)));
    const versions = new Map<string, number>();
    for (const id of ids) {
      const record = await deps.records.get(id);
      if (!record || record.owner !== context.owner) {
        yield { event: 'not_found', data: { jobId: id } };
        continue;
      }

      yield frameOf(record);
      if (!terminalStatuses.has(record.status)) versions.set(id, record.version);
    }

    if (versions.size === 0) return;

    for await (const record of mergeIterables(updates)) {
      const seen = versions.get(record.jobId);
      if (seen === undefined || record.version <= seen) continue;

      yield frameOf(record);
      versions.set(record.jobId, record.version);
      if (terminalStatuses.has(record.status)) versions.delete(record.jobId);
      if (versions.size === 0) return;
    }
  },
});

function frameOf(record: ExportRecord) {
  const event = terminalStatuses.has(record.status) ? record.status : 'progress';

  return { event, data: sharedSnapshot(record) };
}
