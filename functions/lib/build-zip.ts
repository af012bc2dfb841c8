/**
 * The streaming part of the `build-export` job: sources in, one zip out to a multipart upload,
 * with throttled progress writes on the way.
 */
import type { JobContext } from '../../runtime/contract/define.js';
import { PermanentJobError } from '../../runtime/contract/errors.js';
import { uniqueEntryName } from './entry-name.js';
import { planUpload } from './part-size.js';
import type { Clock, JobRecords, ObjectStore } from './ports.js';
import type { PreflightResult } from './preflight.js';
import { ProgressReporter } from './progress-reporter.js';
import type { ExportProgress } from './snapshot.js';
import { type ZipSummary, ZipWriter } from './zip-writer.js';

/** Dependencies of the zip build. */
export interface BuildZipDeps {
  records: JobRecords;
  store: ObjectStore;
  clock: Clock;
  settings: { sourceBucket: string; exportBucket: string; uploadMemoryBudgetBytes: number };
}

/** The counts of one zip build; totals shrink when a source vanishes during the build. */
export interface BuildState {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  missingFileIds: number[];
}

/** One zip to build. */
export interface ZipJob {
  exportId: string;
  requestedCount: number;
  key: string;
  found: PreflightResult;
}

/** Local header, data descriptor and central directory entry with ZIP64 fields, rounded up. */
const entryOverheadBytes = 256;

/**
 * Streams the found sources into a zip uploaded to `job.key`, and resolves once the upload is
 * complete. The multipart upload's id is stored on the record as soon as S3 assigns it, so a
 * later attempt can abort it if this one dies.
 */
export async function buildZip(
  job: ZipJob,
  deps: BuildZipDeps,
  context: JobContext,
): Promise<ZipSummary & BuildState> {
  const { settings } = deps;
  const zipSize = job.found.totalBytes + job.found.present.length * entryOverheadBytes + 1024;
  const plan = planUpload(zipSize, settings.uploadMemoryBudgetBytes);
  const writer = new ZipWriter();
  const stop = () => writer.destroy(new Error('The export was stopped', { cause: context.signal.reason }));
  context.signal.addEventListener('abort', stop, { once: true });

  const uploaded = deps.store.upload(settings.exportBucket, job.key, writer.output, {
    contentType: 'application/zip',
    partSizeBytes: plan.partSizeBytes,
    partsInFlight: plan.partsInFlight,
    signal: context.signal,
    onUploadStarted: (uploadId) => recordUpload(job, uploadId, deps),
  });
  // A failed upload stops reading, so the entry loop would wait for ever without this.
  uploaded.catch((error: unknown) => writer.destroy(asError(error)));

  try {
    const state = await writeEntries(job, writer, deps, context);
    writer.end();
    await uploaded;
    return { ...writer.summary(), ...state };
  } catch (error) {
    writer.destroy(asError(error));
    await uploaded.catch(() => undefined);
    throw error;
  } finally {
    context.signal.removeEventListener('abort', stop);
  }
}

/** Returns the progress for the given counts; percent is bytes read over bytes to read. */
export function progressOf(state: Omit<BuildState, 'missingFileIds'>): ExportProgress {
  const { filesDone, filesTotal, bytesDone, bytesTotal } = state;
  // Empty sources have no bytes to count, so files stand in for the percentage.
  let ratio = 1;
  if (bytesTotal > 0) ratio = bytesDone / bytesTotal;
  else if (filesTotal > 0) ratio = filesDone / filesTotal;
  const percent = Math.min(100, Math.floor(ratio * 100));

  return { percent, filesDone, filesTotal, bytesDone, bytesTotal };
}

/** Returns the failure of an export none of whose sources exist. */
export function allMissing(count: number): PermanentJobError {
  return new PermanentJobError(
    'all_files_missing',
    `None of the ${count} requested files exist in the source bucket`,
  );
}

async function writeEntries(
  job: ZipJob,
  writer: ZipWriter,
  deps: BuildZipDeps,
  context: JobContext,
): Promise<BuildState> {
  const state: BuildState = {
    filesDone: 0,
    filesTotal: job.found.present.length,
    bytesDone: 0,
    bytesTotal: job.found.totalBytes,
    missingFileIds: [...job.found.missingFileIds],
  };
  const save = (progress: ExportProgress) => saveProgress(job.exportId, progress, state, deps);
  const reporter = new ProgressReporter(save, deps.clock);
  const names = new Set<string>();

  for (const file of job.found.present) {
    const stream = await deps.store.read(deps.settings.sourceBucket, file.key, context.signal);
    if (!stream) {
      // Deleted since the preflight: it counts as missing, and its bytes leave the total.
      state.missingFileIds.push(file.fileId);
      state.filesTotal -= 1;
      state.bytesTotal -= file.size;
      continue;
    }

    const entry = {
      name: uniqueEntryName(file.name, names),
      size: file.size,
      comment: `file_id=${file.fileId}`,
      modifiedAt: new Date(deps.clock.now()),
      stream,
    };
    await writer.add(entry, (bytes) => {
      state.bytesDone += bytes;
      reporter.report(progressOf(state));
    });
    state.filesDone += 1;
    reporter.report(progressOf(state));
  }

  await reporter.flush();
  if (state.filesDone === 0) throw allMissing(job.requestedCount);

  return state;
}

async function saveProgress(
  exportId: string,
  progress: ExportProgress,
  state: BuildState,
  deps: BuildZipDeps,
) {
  await deps.records.update(exportId, (record) => ({
    ...record,
    progress,
    missingFileIds: [...state.missingFileIds],
    updatedAt: new Date(deps.clock.now()).toISOString(),
  }));
}

async function recordUpload(job: ZipJob, uploadId: string, deps: BuildZipDeps) {
  const upload = { bucket: deps.settings.exportBucket, key: job.key, uploadId };

  await deps.records.update(job.exportId, (record) => ({ ...record, upload }));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
