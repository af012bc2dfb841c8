/** GET /v1/export/:id/progress: the export's snapshots as Server-Sent Events. */
import { type } from 'arktype';

import { defineSse, type SseFrame } from '../runtime/contract/define.js';
import type { JobEvents, JobRecords } from './lib/ports.js';
import { exportIdParams, exportNotFound } from './lib/schemas.js';
import { type ExportRecord, sharedSnapshot, terminalStatuses } from './lib/snapshot.js';

export interface FollowExportDeps {
  records: JobRecords;
  events: JobEvents;
}

const input = type({
  params: exportIdParams,
  headers: { 'last-event-id?': 'string.integer.parse' },
});

/**
 * Streams the current snapshot, then one frame per change, then one terminal frame. When the
 * export has already ended, the first frame is the terminal one. A client whose
 * `Last-Event-ID` is already the terminal version gets no frame, which the host sends as 204
 * so that EventSource stops reconnecting.
 */
export const followExport = defineSse({
  name: 'follow-export',
  method: 'GET',
  paths: ['/v1/export/:id/progress', '/v1/download/subscribe/:id'],
  access: 'read',
  input,
  async *handler({ params, headers }, deps: FollowExportDeps, context) {
    // Subscribing before the read means no change between the two is missed.
    const updates = await deps.events.subscribe(params.id, context.signal);
    const current = await deps.records.get(params.id);
    if (!current || current.owner !== context.owner) throw exportNotFound(params.id);

    // An id newer than any version was not sent by this export; such a client starts afresh.
    const lastEventId = headers['last-event-id'] ?? 0;
    let lastVersion = lastEventId <= current.version ? lastEventId : 0;
    if (current.version > lastVersion) {
      yield frameOf(current, 'snapshot');
      lastVersion = current.version;
    }
    if (terminalStatuses.has(current.status)) return;

    for await (const record of updates) {
      if (record.version <= lastVersion) continue;

      yield frameOf(record, 'progress');
      lastVersion = record.version;
      if (terminalStatuses.has(record.status)) return;
    }
  },
});

function frameOf(record: ExportRecord, liveEvent: 'snapshot' | 'progress'): SseFrame {
  const event = terminalStatuses.has(record.status) ? record.status : liveEvent;

  return { id: String(record.version), event, data: sharedSnapshot(record) };
}
