/** Downloads the finished zip to disk, measuring its size and SHA-256 on the way. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import type { Digest } from './digest.js';

/** Streams `url` into the file at `path` and returns the size and SHA-256 of what was written. */
export async function downloadToFile(
  url: string,
  path: string,
  signal?: AbortSignal,
): Promise<Digest> {
  const response = await fetch(url, { signal });
  if (!response.ok || response.body === null) {
    const excerpt = (await response.text()).slice(0, 200).trim() || response.statusText;
    throw new Error(`Download failed with HTTP ${response.status}: ${excerpt}`);
  }

  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });

  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  await pipeline(body, measure, createWriteStream(path), { signal });

  return { size, sha256: hash.digest('hex') };
}
