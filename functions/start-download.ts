/**
 * POST /v1/download/start: the older API's one-file download. It waits a few seconds for the
 * export, so small files come back in one request, but never near a proxy's timeout.
 */
import { type } from 'arktype';

import { defineHttp, type HttpResult } from '../runtime/contract/define.js';
import type { JobEvents } from './lib/ports.js';
import { fileId } from './lib/schemas.js';
import { type ExportRecord, terminalStatuses } from './lib/snapshot.js';
import { startExport, type StartExportDeps } from './lib/start-export.js';

export interface StartDownloadDeps extends StartExportDeps {
  events: JobEvents;
  /** How long the request waits for the export before it responds with 202. */
  legacy: { startWaitMs: number };
}

export const startDownload = defineHttp({
  name: 'start-download',
  method: 'POST',
  paths: ['/v1/download/start'],
  input: type({ body: { '+': 'reject', file_id: fileId } }),
  rateLimit: 'create',
  async handler({ body }, deps: StartDownloadDeps, context) {
    const startedAt = deps.clock.now();
    const waiting = new AbortController();
    const stop = () => waiting.abort();
    // NOTE: not AbortSignal.timeout: on Node 20 a garbage collection can drop that signal
    // before it fires, and the request would then wait for the export's end.
    const timer = setTimeout(stop, deps.legacy.startWaitMs);
    context.signal.addEventListener('abort', stop, { once: true });
    const exportId = deps.newId();

    try {
      // Subscribing before the export exists means its ending cannot be missed.
      const updates = await deps.events.subscribe(exportId, waiting.signal);
      const record = await startExport([body.file_id], deps, context, exportId);

      for await (const update of updates) {
        if (terminalStatuses.has(update.status)) {
          return ended(body.file_id, update, deps.clock.now() - startedAt);
        }
      }

      return pending(body.file_id, record);
    } finally {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', stop);
      waiting.abort();
    }
  },
});

function ended(fileId: number, record: ExportRecord, elapsedMs: number): HttpResult {
  const completed = record.status === 'completed';
  const message = completed
    ? 'The file is ready to download'
    : `The file could not be exported: ${record.error?.message ?? 'unknown reason'}`;

  return {
    status: 200,
    body: {
      file_id: fileId,
      status: record.status,
      downloadUrl: completed ? (record.downloadUrl ?? null) : null,
      size: completed ? record.progress.bytesTotal : null,
      processingTimeMs: elapsedMs,
      message,
      jobId: record.jobId,
    },
  };
}

function pending(fileId: number, record: ExportRecord): HttpResult {
  return {
    status: 202,
    headers: { Location: `/v1/download/status/${record.jobId}` },
    body: {
      file_id: fileId,
      jobId: record.jobId,
      status: record.status,
      message: 'The export is still running; follow it with the status or subscribe URL',
      statusUrl: `/v1/download/status/${record.jobId}`,
      subscribeUrl: `/v1/download/subscribe/${record.jobId}`,
    },
  };
}
