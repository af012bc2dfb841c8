/**
 * The `build-export` job: looks up the sources, streams them one after another into a zip that
 * goes to the exports bucket as a multipart upload, and records progress and the result. It
 * stops promptly when the export is cancelled, whichever API process took the cancellation.
 */
import { defineJob, type JobContext } from '../runtime/contract/define.js';
import { PermanentJobError } from '../runtime/contract/errors.js';
import { allMissing, buildZip, type BuildState, progressOf } from './lib/build-zip.js';
import type {
  Clock,
  JobEvents,
  JobQueue,
  JobRecords,
  ObjectStore,
  UrlSigner,
} from './lib/ports.js';
import { type NotifyDeps, notifyEnded } from './lib/notify-ended.js';
import { preflight } from './lib/preflight.js';
import { buildExportData } from './lib/schemas.js';
import type { ExportRecord } from './lib/snapshot.js';
import type { ZipSummary } from './lib/zip-writer.js';

export interface BuildExportDeps extends NotifyDeps {
  records: JobRecords;
  events: JobEvents;
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
  /** The maximum of source bytes in one export. */
  maxExportBytes: number;
}

type Input = typeof buildExportData.infer;

export const buildExport = defineJob({
  name: 'build-export',
  queue: 'exports',
  input: buildExportData,
  // Streaming runs at about 50 MB/s here, so 10 minutes covers about 30 GB of sources.
  expectedDurationSeconds: 600,
  async handler(input, deps: BuildExportDeps, context) {
    const cancelled = new AbortController();
    const signal = AbortSignal.any([context.signal, cancelled.signal]);
    const run = { ...context, signal };

    try {
      await watchForCancellation(input.exportId, deps, cancelled);
      const record = await markProcessing(input, deps, context);
      if (record.status === 'cancelled') return;

      await abortPreviousUpload(record, deps, context);
      await build(input, deps, run);
    } catch (error) {
      if (cancelled.signal.aborted) throw cancelledError(input.exportId);
      throw error;
    } finally {
      cancelled.abort();
    }
  },
  async onFailure(input, deps: BuildExportDeps, _context, failure) {
    const error = { code: failure.code, message: failure.message };

    const record = await deps.records.update(input.exportId, (record) => {
      // A cancelled export keeps its status; the failure is only how the run stopped.
      if (record.status === 'cancelled') return record;

      const updatedAt = new Date(deps.clock.now()).toISOString();
      if (failure.final) return { ...record, status: 'failed', error, updatedAt };

      return { ...record, status: 'queued', lastError: error, updatedAt };
    });
    if (failure.final && record.status === 'failed') await notifyEnded(record, deps);
  },
});

async function build(input: Input, deps: BuildExportDeps, context: JobContext) {
  const location = { bucket: deps.settings.sourceBucket, keyTemplate: deps.settings.sourceKeyTemplate };
  const found = await preflight(deps.store, location, input.fileIds);
  await save(input.exportId, deps, (record) => ({
    ...record,
    missingFileIds: found.missingFileIds,
    progress: progressOf({ filesDone: 0, filesTotal: found.present.length, bytesDone: 0, bytesTotal: found.totalBytes }),
  }));
  if (found.present.length === 0) throw allMissing(input.fileIds.length);
  if (found.totalBytes > deps.settings.maxExportBytes) {
    throw new PermanentJobError(
      'export_too_large',
      `The files add up to ${found.totalBytes} bytes, over the limit of ` +
        `${deps.settings.maxExportBytes} bytes per export (MAX_EXPORT_MIB)`,
    );
  }

  const key = `exports/${input.exportId}.zip`;
  const job = { exportId: input.exportId, requestedCount: input.fileIds.length, key, found };
  const result = await buildZip(job, deps, context);
  const completed = await complete(input.exportId, key, result, deps);
  if (completed.status === 'completed') await notifyEnded(completed, deps);

  context.telemetry.setAttributes({
    'export.file_count': result.filesDone,
    'export.source_bytes': result.bytesDone,
    'export.zip_bytes': result.size,
  });
  context.telemetry.count('bytes_exported', result.size);
}

/**
 * Aborts `cancelled` when the record turns `cancelled`. The subscription ends with the
 * controller, which the handler aborts when it returns.
 */
async function watchForCancellation(
  exportId: string,
  deps: BuildExportDeps,
  cancelled: AbortController,
): Promise<void> {
  const updates = await deps.events.subscribe(exportId, cancelled.signal);

  void (async () => {
    for await (const record of updates) {
      if (record.status === 'cancelled') cancelled.abort(new Error('The export was cancelled'));
    }
  })();
}

async function markProcessing(input: Input, deps: BuildExportDeps, context: JobContext) {
  return deps.records.update(input.exportId, (record) => {
    if (record.status === 'cancelled') return record;

    return {
      ...record,
      status: 'processing',
      attempt: context.attempt,
      maxAttempts: context.maxAttempts,
      updatedAt: new Date(deps.clock.now()).toISOString(),
    };
  });
}

/**
 * Aborts the multipart upload of an attempt that died, so no parts linger in the bucket. A
 * failed abort must not fail the export, so it is logged with the upload id for clean-up.
 */
async function abortPreviousUpload(record: ExportRecord, deps: BuildExportDeps, context: JobContext) {
  if (!record.upload) return;

  const { bucket, key, uploadId } = record.upload;
  try {
    await deps.store.abortUpload(bucket, key, uploadId);
  } catch (error) {
    context.logger.warn({ err: error, bucket, key, uploadId }, 'Could not abort an earlier upload');
  }
  await save(record.jobId, deps, ({ upload: _upload, ...rest }) => rest);
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

  // Scheduled before the record is marked completed, so every completed export has its expiry.
  await deps.queue.enqueue(
    'expire-export',
    { exportId },
    { jobId: `expire-${exportId}`, attempts: 5, delayMs: settings.artifactRetentionSeconds * 1000 },
  );

  return save(exportId, deps, (record) => {
    // Cancelled while the upload finished: the zip stays until the expiry job deletes it.
    if (record.status === 'cancelled') return record;

    const { upload: _upload, lastError: _lastError, ...rest } = record;
    return {
      ...rest,
      status: 'completed',
      progress: progressOf(result),
      missingFileIds: result.missingFileIds,
      downloadUrl,
      expiresAt: new Date(now + settings.downloadUrlTtlSeconds * 1000).toISOString(),
      artifact: { bucket: settings.exportBucket, key, fileName, size: result.size, sha256: result.sha256 },
    };
  });
}

/** Applies `change` and stamps the update time. */
async function save(
  exportId: string,
  deps: BuildExportDeps,
  change: (record: ExportRecord) => ExportRecord,
): Promise<ExportRecord> {
  return deps.records.update(exportId, (record) => {
    const next = change(record);
    if (next === record) return record;

    return { ...next, updatedAt: new Date(deps.clock.now()).toISOString() };
  });
}

function cancelledError(exportId: string): PermanentJobError {
  return new PermanentJobError('cancelled', `Export ${exportId} was cancelled`);
}
