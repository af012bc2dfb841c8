/**
 * The flow of the export CLI. It starts the export, follows it to its end, downloads the zip,
 * checks its digest and compares every entry with its source.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { startExport, type AcceptedExport } from './api.js';
import { compareZipDigest } from './digest.js';
import { downloadToFile } from './download.js';
import { followExport } from './follow.js';
import type { ProgressView } from './progress.js';
import { formatSummary } from './summary.js';
import { verifyZip, type SourceReader, type VerifyReport } from './verify.js';

/** The inputs of `runExport`. */
export interface RunOptions {
  apiUrl: string;
  fileIds: readonly number[];
  /** The path to keep the zip at. Unset means a temporary file that is deleted at the end. */
  outPath: string | undefined;
  readSource: SourceReader;
  /** Creates the progress view once the export is accepted, so a rejected request shows no bar. */
  createView: () => ProgressView;
  /** Receives the lines meant for standard output, such as the job id and the summary. */
  print: (text: string) => void;
  signal: AbortSignal;
}

type CompletedSnapshot = ExportSnapshot & Required<Pick<ExportSnapshot, 'downloadUrl' | 'zip'>>;

/** Runs one export end to end and returns the exit code: 0 when everything matched, else 1. */
export async function runExport(options: RunOptions): Promise<number> {
  const startedAt = performance.now();

  const accepted = await startExport(options.apiUrl, options.fileIds, options.signal);
  options.print(`Export ${accepted.jobId} accepted with ${accepted.totalFileIds} file id(s).`);

  const final = await followWithView(accepted, options);
  const exportMs = performance.now() - startedAt;

  if (final.status === 'failed') {
    const error = final.error ?? { code: 'unknown', message: 'the job reported no error details' };
    options.print(`Export ${final.jobId} failed: ${error.code}: ${error.message}`);
    return 1;
  }
  if (!isDownloadable(final)) {
    const state = `"${final.status}" without a downloadUrl and zip`;
    options.print(`Export ${final.jobId} ended as ${state}.`);
    return 1;
  }

  const zipPath = options.outPath ?? (await createTemporaryZipPath());
  try {
    return await checkZip(final, zipPath, exportMs, startedAt, options);
  } finally {
    if (options.outPath === undefined) await rm(dirname(zipPath), { recursive: true, force: true });
  }
}

async function followWithView(
  accepted: AcceptedExport,
  options: RunOptions,
): Promise<ExportSnapshot> {
  const view = options.createView();

  try {
    return await followExport({
      progressUrl: accepted.progressUrl,
      statusUrl: accepted.statusUrl,
      onSnapshot: (snapshot) => view.update(snapshot),
      onNotice: (message) => view.notice(message),
      signal: options.signal,
    });
  } finally {
    view.stop();
  }
}

async function checkZip(
  final: CompletedSnapshot,
  zipPath: string,
  exportMs: number,
  startedAt: number,
  options: RunOptions,
): Promise<number> {
  const downloadStart = performance.now();
  const digest = await downloadToFile(final.downloadUrl, zipPath, options.signal);
  const downloadMs = performance.now() - downloadStart;

  const verifyStart = performance.now();
  const report = await verifyOrReport(zipPath, final, options);
  const verifyMs = performance.now() - verifyStart;

  const problems = [...compareZipDigest(final.zip, digest), ...report.problems];
  const summary = formatSummary({
    jobId: final.jobId,
    requestedIds: options.fileIds,
    missingFileIds: final.missingFileIds,
    zipSize: digest.size,
    keptPath: options.outPath,
    report,
    timings: { exportMs, downloadMs, verifyMs, totalMs: performance.now() - startedAt },
    problems,
  });
  options.print(summary);

  return problems.length === 0 ? 0 : 1;
}

/** Verifies the zip, and turns a zip that cannot be opened into a report with one problem. */
async function verifyOrReport(
  zipPath: string,
  final: CompletedSnapshot,
  options: RunOptions,
): Promise<VerifyReport> {
  try {
    return await verifyZip({
      zipPath,
      requestedIds: options.fileIds,
      missingFileIds: final.missingFileIds,
      readSource: options.readSource,
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal.aborted) throw error;

    const message = error instanceof Error ? error.message : String(error);
    const problems = [`zip could not be opened: ${message}`];

    return { entries: [], verifiedEntries: 0, verifiedBytes: 0, problems };
  }
}

function isDownloadable(snapshot: ExportSnapshot): snapshot is CompletedSnapshot {
  return snapshot.status === 'completed' && Boolean(snapshot.downloadUrl) && Boolean(snapshot.zip);
}

async function createTemporaryZipPath(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'export-cli-'));

  return join(directory, 'export.zip');
}
