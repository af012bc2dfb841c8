/** Reads a downloaded export zip in memory, for comparing its entries with their sources. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

import yauzl from 'yauzl';

/** One entry with its bytes. */
export interface ZipEntryContent {
  name: string;
  comment: string;
  bytes: Buffer;
}

/** Opens `zip` with yauzl, which checks each entry's CRC-32 and size while reading. */
export async function readZipEntries(zip: Buffer): Promise<ZipEntryContent[]> {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const entries: ZipEntryContent[] = [];

  try {
    for await (const entry of file.eachEntry()) {
      const stream = await file.openReadStreamPromise(entry);
      const bytes = await readAll(stream);
      entries.push({ name: entry.fileName, comment: entry.fileComment, bytes });
    }
  } finally {
    file.close();
  }

  return entries;
}

/** Returns the hex SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Downloads `url` with a plain fetch, as a browser following the link would. */
export async function download(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url);
  const body = Buffer.from(await response.arrayBuffer());

  return { status: response.status, body };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);

  return Buffer.concat(chunks);
}
