/**
 * The `build-export` job: looks up the sources, streams them one after another into a zip that
 * goes to the exports bucket as a multipart upload, and records progress and the result.
 */
import { defineJob, type JobContext } from '../runtime/contract/define.js';
import { PermanentJobError } from '../runtime/contract/errors.js';
import { uniqueEntryName } from './lib/entry-name.js';
import { planUpload } from './lib/part-size.js';
import type { Clock, JobQueue, JobRecords, ObjectStore, UrlSigner } from './lib/ports.js';
import { preflight, type PreflightResult } from './lib/preflight.js';
import { ProgressReporter } from './lib/progress-reporter.js';
import { buildExportData } from './lib/schemas.js';
import type { ExportProgress } from './lib/snapshot.js';
import { type ZipSummary, ZipWriter } from './lib/zip-writer.js';

export interface BuildExportDeps {
  records: JobRecords;
  store: ObjectStore;
  signer: UrlSigner;
  queue: JobQueue;
  clock: Clock;
  settings: BuildExportSettings;
}

/** The settings the job reads; the runtime fills them from the config. */
export interface BuildExportSettings {
  sourceBucket: string;
  sourceKeyTemplate: string;
  exportBucket: string;
  uploadMemoryBudgetBytes: number;
  downloadUrlTtlSeconds: number;
  artifactRetentionSeconds: number;
}

type Input = typeof buildExportData.infer;

/** Local header, data descriptor and central directory entry with ZIP64 fields, rounded up. */
const entryOverheadBytes = 256;

export const buildExport = defineJob({
  name: 'build-export',
  queue: 'exports',
  input: buildExportData,
  async handler(input, deps: BuildExportDeps, context) {
    await markProcessing(input, deps, context);

    const found = await preflight(deps.store, sourceLocation(deps.settings), input.fileIds);
    await recordPreflight(input.exportId, found, deps);
    if (found.present.length === 0) throw allMissing(input.fileIds.length);

    const key = `exports/${input.exportId}.zip`;
    const result = await writeZip(input, found, key, deps, context);
    await complete(input.exportId, key, result, deps);

    context.telemetry.setAttributes({
      'export.file_count': result.filesDone,
      'export.source_bytes': result.bytesDone,
      'export.zip_bytes': result.size,
    });
    context.telemetry.count('bytes_exported', result.size);
  },
  async onFailure(input, deps: BuildExportDeps, _context, failure) {
    const error = { code: failure.code, message: failure.message };

    await deps.records.update(input.exportId, (record) => {
      const updatedAt = new Date(deps.clock.now()).toISOString();
      if (failure.final) return { ...record, status: 'failed', error, updatedAt };

      return { ...record, status: 'queued', lastError: error, updatedAt };
    });
  },
});

async function markProcessing(input: Input, deps: BuildExportDeps, context: JobContext) {
  await deps.records.update(input.exportId, (record) => ({
    ...record,
    status: 'processing',
    attempt: context.attempt,
    maxAttempts: context.maxAttempts,
    updatedAt: new Date(deps.clock.now()).toISOString(),
  }));
}

async function recordPreflight(exportId: string, found: PreflightResult, deps: BuildExportDeps) {
  await deps.records.update(exportId, (record) => ({
    ...record,
    missingFileIds: found.missingFileIds,
    progress: progressOf(0, found.present.length, 0, found.totalBytes),
    updatedAt: new Date(deps.clock.now()).toISOString(),
  }));
}

/** The state of one zip build, shared by the entry loop and the progress reporter. */
interface BuildState {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  missingFileIds: number[];
}

async function writeZip(
  input: Input,
  found: PreflightResult,
  key: string,
  deps: BuildExportDeps,
  context: JobContext,
): Promise<ZipSummary & BuildState> {
  const { settings } = deps;
  const zipSize = found.totalBytes + found.present.length * entryOverheadBytes + 1024;
  const plan = planUpload(zipSize, settings.uploadMemoryBudgetBytes);
  const writer = new ZipWriter();
  const abort = () => writer.destroy(new Error('The export was stopped', { cause: context.signal.reason }));
  context.signal.addEventListener('abort', abort, { once: true });

  const uploaded = deps.store.upload(settings.exportBucket, key, writer.output, {
    contentType: 'application/zip',
    partSizeBytes: plan.partSizeBytes,
    partsInFlight: plan.partsInFlight,
    signal: context.signal,
  });
  // A failed upload stops reading, so the entry loop would wait for ever without this.
  uploaded.catch((error: unknown) => writer.destroy(asError(error)));

  try {
    const state = await writeEntries(input, found, writer, deps, context);
    writer.end();
    await uploaded;
    return { ...writer.summary(), ...state };
  } catch (error) {
    writer.destroy(asError(error));
    await uploaded.catch(() => undefined);
    throw error;
  } finally {
    context.signal.removeEventListener('abort', abort);
  }
}

async function writeEntries(
  input: Input,
  found: PreflightResult,
  writer: ZipWriter,
  deps: BuildExportDeps,
  context: JobContext,
): Promise<BuildState> {
  const state: BuildState = {
    filesDone: 0,
    filesTotal: found.present.length,
    bytesDone: 0,
    bytesTotal: found.totalBytes,
    missingFileIds: [...found.missingFileIds],
  };
  const save = (progress: ExportProgress) =>
    saveProgress(input.exportId, progress, state.missingFileIds, deps);
  const reporter = new ProgressReporter(save, deps.clock);
  const report = () =>
    reporter.report(progressOf(state.filesDone, state.filesTotal, state.bytesDone, state.bytesTotal));
  const names = new Set<string>();

  for (const file of found.present) {
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
      report();
    });
    state.filesDone += 1;
    report();
  }

  await reporter.flush();
  if (state.filesDone === 0) throw allMissing(input.fileIds.length);

  return state;
}

async function saveProgress(
  exportId: string,
  progress: ExportProgress,
  missingFileIds: number[],
  deps: BuildExportDeps,
) {
  await deps.records.update(exportId, (record) => ({
    ...record,
    progress,
    missingFileIds: [...missingFileIds],
    updatedAt: new Date(deps.clock.now()).toISOString(),
  }));
}

async function complete(
  exportId: string,
  key: string,
  result: ZipSummary & BuildState,
  deps: BuildExportDeps,
) {
  const { settings } = deps;
  const fileName = `export-${exportId}.zip`;
  const downloadUrl = await deps.signer.signDownload(settings.exportBucket, key, {
    expiresInSeconds: settings.downloadUrlTtlSeconds,
    fileName,
  });
  const now = deps.clock.now();

  // Scheduled before the record says completed, so a completed export always has its expiry.
  await deps.queue.enqueue(
    'expire-export',
    { exportId },
    { jobId: `expire-${exportId}`, attempts: 5, delayMs: settings.artifactRetentionSeconds * 1000 },
  );

  await deps.records.update(exportId, (record) => ({
    ...record,
    status: 'completed',
    progress: progressOf(result.filesDone, result.filesTotal, result.bytesDone, result.bytesTotal),
    missingFileIds: result.missingFileIds,
    downloadUrl,
    expiresAt: new Date(now + settings.downloadUrlTtlSeconds * 1000).toISOString(),
    artifact: { bucket: settings.exportBucket, key, fileName, size: result.size, sha256: result.sha256 },
    lastError: undefined,
    updatedAt: new Date(now).toISOString(),
  }));
}

function progressOf(
  filesDone: number,
  filesTotal: number,
  bytesDone: number,
  bytesTotal: number,
): ExportProgress {
  // Empty sources have no bytes to count, so files stand in for the percentage.
  const ratio = bytesTotal > 0 ? bytesDone / bytesTotal : filesTotal > 0 ? filesDone / filesTotal : 1;
  const percent = Math.min(100, Math.floor(ratio * 100));

  return { percent, filesDone, filesTotal, bytesDone, bytesTotal };
}

function sourceLocation(settings: BuildExportSettings) {
  return { bucket: settings.sourceBucket, keyTemplate: settings.sourceKeyTemplate };
}

function allMissing(count: number): PermanentJobError {
  return new PermanentJobError(
    'all_files_missing',
    `None of the ${count} requested files exist in the source bucket`,
  );
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
