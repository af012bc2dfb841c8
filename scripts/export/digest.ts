/** Sizes and SHA-256 digests of byte streams, and how two of them differ. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** The size in bytes and the hex SHA-256 of a byte stream. */
export interface Digest {
  size: number;
  sha256: string;
}

/** Reads `stream` to the end and returns its length and SHA-256. */
export async function digestStream(stream: Readable): Promise<Digest> {
  const hash = createHash('sha256');
  let size = 0;

  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    hash.update(bytes);
    size += bytes.length;
  }

  return { size, sha256: hash.digest('hex') };
}

/** Returns one sentence per difference between the downloaded zip and the job's `zip` digest. */
export function compareZipDigest(expected: Digest, actual: Digest): string[] {
  const problems: string[] = [];

  if (actual.size !== expected.size) {
    problems.push(`zip size is ${actual.size} bytes, but the job reported ${expected.size}`);
  }
  if (actual.sha256 !== expected.sha256.toLowerCase()) {
    problems.push(`zip SHA-256 is ${actual.sha256}, but the job reported ${expected.sha256}`);
  }

  return problems;
}
