/**
 * Verifies a downloaded export zip. Each entry's `file_id=N` comment names its source, and the
 * entry's bytes must equal the source object's bytes (same length and SHA-256).
 */
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';

import { checkCoverage } from './coverage.js';
import { digestStream, type Digest } from './digest.js';

/** Opens the source of `fileId`, or returns null when it does not exist. */
export type SourceReader = (fileId: number) => Promise<Readable | null>;

/** The inputs of `verifyZip`. */
export interface VerifyOptions {
  zipPath: string;
  /** The ids as requested, duplicates allowed. */
  requestedIds: readonly number[];
  missingFileIds: readonly number[];
  readSource: SourceReader;
  /** Stops verification before the next entry once aborted. */
  signal?: AbortSignal;
}

/** The outcome for one zip entry. `problem` is unset when the entry matched its source. */
export interface EntryResult {
  fileName: string;
  /** Unset when the entry has no `file_id=N` comment. */
  fileId: number | undefined;
  /** The uncompressed size from the central directory. */
  size: number;
  problem?: string;
}

/** The outcome of `verifyZip`. Verification passed when `problems` is empty. */
export interface VerifyReport {
  entries: EntryResult[];
  verifiedEntries: number;
  /** The uncompressed bytes of the entries that matched their source. */
  verifiedBytes: number;
  problems: string[];
}

const commentPattern = /^file_id=(\d+)$/;

/** Compares every entry of the zip with its source and checks that every id is accounted for. */
export async function verifyZip(options: VerifyOptions): Promise<VerifyReport> {
  const zip = await yauzl.openPromise(options.zipPath, { lazyEntries: true, autoClose: false });
  const entries: EntryResult[] = [];

  try {
    for await (const entry of zip.eachEntry()) {
      options.signal?.throwIfAborted();
      entries.push(await verifyEntry(zip, entry, options.readSource));
    }
  } finally {
    zip.close();
  }

  return summarize(entries, options);
}

/** Returns the file id from an entry comment of the form `file_id=N`, or undefined. */
export function parseEntryComment(comment: string): number | undefined {
  const match = commentPattern.exec(comment.trim());
  const id = match ? Number(match[1]) : Number.NaN;

  return Number.isSafeInteger(id) ? id : undefined;
}

async function verifyEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  readSource: SourceReader,
): Promise<EntryResult> {
  const fileId = parseEntryComment(entry.fileComment);
  const result: EntryResult = { fileName: entry.fileName, fileId, size: entry.uncompressedSize };
  const label = `entry "${entry.fileName}"`;

  if (fileId === undefined) {
    return { ...result, problem: `${label} has no file_id=N comment` };
  }

  try {
    const source = await readSource(fileId);
    if (source === null) {
      return { ...result, problem: `${label}: source of file ${fileId} not found` };
    }

    const [zipped, original] = await digestEntryAndSource(zip, entry, source);
    return { ...result, problem: describeMismatch(label, fileId, zipped, original) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...result, problem: `${label} (file ${fileId}) could not be compared: ${message}` };
  }
}

async function digestEntryAndSource(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  source: Readable,
): Promise<[Digest, Digest]> {
  let entryStream: Readable;
  try {
    entryStream = await zip.openReadStreamPromise(entry);
  } catch (error) {
    source.destroy();
    throw error;
  }

  return digestBoth(entryStream, source);
}

async function digestBoth(entry: Readable, source: Readable): Promise<[Digest, Digest]> {
  try {
    return await Promise.all([digestStream(entry), digestStream(source)]);
  } catch (error) {
    // Stops the other stream, so a failed read leaves no open S3 connection or file handle.
    entry.destroy();
    source.destroy();
    throw error;
  }
}

function describeMismatch(
  label: string,
  fileId: number,
  zipped: Digest,
  original: Digest,
): string | undefined {
  if (zipped.size === original.size && zipped.sha256 === original.sha256) return undefined;

  return (
    `${label} (file ${fileId}) differs from its source: entry ${zipped.size} bytes, ` +
    `SHA-256 ${zipped.sha256}; source ${original.size} bytes, SHA-256 ${original.sha256}`
  );
}

function summarize(entries: EntryResult[], options: VerifyOptions): VerifyReport {
  const matched = entries.filter((entry) => entry.problem === undefined);
  const entryIds = entries.flatMap((entry) => (entry.fileId === undefined ? [] : [entry.fileId]));
  const entryProblems = entries.flatMap((entry) => (entry.problem ? [entry.problem] : []));
  const coverage = checkCoverage(options.requestedIds, entryIds, options.missingFileIds);

  return {
    entries,
    verifiedEntries: matched.length,
    verifiedBytes: matched.reduce((total, entry) => total + entry.size, 0),
    problems: [...entryProblems, ...coverage],
  };
}
