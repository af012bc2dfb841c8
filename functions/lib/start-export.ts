/** Creating an export: shared by the current API and the older download API. */
import type { HttpContext } from '../../runtime/contract/define.js';
import { HttpError } from '../../runtime/contract/errors.js';
import type { Clock, JobQueue, JobRecords } from './ports.js';
import { newRecord, type ExportRecord } from './snapshot.js';

/** Dependencies of creating an export. */
export interface StartExportDeps {
  records: JobRecords;
  queue: JobQueue;
  clock: Clock;
  newId: () => string;
  jobs: { attempts: number };
  limits: { maxFilesPerExport: number; maxActiveExports: number };
}

/**
 * Stores a queued record for the distinct ids of `fileIds` and enqueues its build, unless the
 * owner is at the max of active exports. The record goes first, so that a worker picking the
 * job up at once finds it. `exportId` defaults to a new id; a caller that must subscribe
 * before the export exists makes the id itself.
 */
export async function startExport(
  fileIds: readonly number[],
  deps: StartExportDeps,
  context: HttpContext,
  exportId = deps.newId(),
  callbackUrl?: string,
): Promise<ExportRecord> {
  const distinct = [...new Set(fileIds)];
  checkFileCount(distinct.length, deps.limits.maxFilesPerExport);
  const now = new Date(deps.clock.now());
  const record = {
    ...newRecord(exportId, distinct, deps.jobs.attempts, now, context.owner),
    ...(callbackUrl ? { callbackUrl } : {}),
  };

  const { maxActiveExports } = deps.limits;
  const limits = { maxActive: maxActiveExports };
  const { created, activeBefore } = await deps.records.create(record, limits);
  if (!created) throw tooManyActive(activeBefore, maxActiveExports);

  await deps.queue.enqueue(
    'build-export',
    { exportId, fileIds: distinct },
    { jobId: exportId, attempts: deps.jobs.attempts },
  );
  context.telemetry.setAttributes({ 'export.job_id': exportId, 'export.file_count': distinct.length });

  return record;
}

function checkFileCount(fileCount: number, maxFilesPerExport: number) {
  if (fileCount > maxFilesPerExport) {
    throw new HttpError(
      400,
      'too_many_files',
      `file_ids names ${fileCount} files; the limit is ${maxFilesPerExport} per export`,
      'file_ids',
    );
  }
}

function tooManyActive(active: number, maxActiveExports: number): HttpError {
  return new HttpError(
    429,
    'too_many_active_exports',
    `${active} exports are still running; the limit is ${maxActiveExports} at once. ` +
      'Wait for one to end, or cancel one.',
    undefined,
    { 'Retry-After': '10' },
  );
}
