/** The worker's first step: look up every source before any byte is zipped. */
import type { ObjectStore } from './ports.js';
import { fileNameMetadataKey, safeEntryName } from './entry-name.js';

/** A source that exists, with what the zip needs to know about it. */
export interface SourceFile {
  fileId: number;
  key: string;
  size: number;
  /** The safe entry name, before duplicates are numbered. */
  name: string;
}

/** The result of the preflight. */
export interface PreflightResult {
  present: SourceFile[];
  missingFileIds: number[];
  totalBytes: number;
}

/** The bucket and key template of the sources. */
export interface SourceLocation {
  bucket: string;
  /** Key template; `{file_id}` stands for the id. */
  keyTemplate: string;
}

/** HEAD requests sent at once; S3 responds to each in a few milliseconds. */
const lookupsInFlight = 16;

/** Returns the key of `fileId` in the source bucket. */
export function sourceKey(keyTemplate: string, fileId: number): string {
  return keyTemplate.replaceAll('{file_id}', String(fileId));
}

/** Looks up every id, in order, with a bounded number of requests in flight. */
export async function preflight(
  store: ObjectStore,
  location: SourceLocation,
  fileIds: number[],
): Promise<PreflightResult> {
  const found = new Array<SourceFile | null>(fileIds.length);
  let next = 0;

  async function lookUpNext(): Promise<void> {
    while (next < fileIds.length) {
      const index = next++;
      found[index] = await lookUp(store, location, fileIds[index]!);
    }
  }
  await Promise.all(Array.from({ length: lookupsInFlight }, lookUpNext));

  const present = found.filter((file): file is SourceFile => file !== null);
  const missingFileIds = fileIds.filter((_id, index) => found[index] === null);
  const totalBytes = present.reduce((sum, file) => sum + file.size, 0);

  return { present, missingFileIds, totalBytes };
}

async function lookUp(
  store: ObjectStore,
  location: SourceLocation,
  fileId: number,
): Promise<SourceFile | null> {
  const key = sourceKey(location.keyTemplate, fileId);
  const info = await store.head(location.bucket, key);
  if (!info) return null;

  const fallback = key.slice(key.lastIndexOf('/') + 1) || `${fileId}`;
  const name = safeEntryName(info.metadata[fileNameMetadataKey], fallback);

  return { fileId, key, size: info.size, name };
}
