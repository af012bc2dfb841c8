/**
 * Source files of random bytes in the emulator's `downloads` bucket, written once and kept in
 * `.local/bench/s3` for later runs.
 */
import { randomBytes } from 'node:crypto';

import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { createS3Client } from '../../infra/s3-client.js';
import { loadConfig } from '../../runtime/config.js';
import type { Stack } from './stack.js';

/** A set of sources: `count` files of `sizeBytes` each, with ids from `firstId` on. */
export interface SourceSet {
  firstId: number;
  count: number;
  sizeBytes: number;
}

export const MiB = 1024 * 1024;

/** 10 x 10 MiB: the 100 MiB export. */
export const small: SourceSet = { firstId: 80_000, count: 10, sizeBytes: 10 * MiB };
/** 10 x 100 MiB: the 1 GiB export. */
export const large: SourceSet = { firstId: 81_000, count: 10, sizeBytes: 100 * MiB };
/** 100 x 64 KiB: one file per export in the end-to-end benchmark. */
export const tiny: SourceSet = { firstId: 82_000, count: 100, sizeBytes: 64 * 1024 };

export function fileIdsOf(set: SourceSet): number[] {
  return Array.from({ length: set.count }, (_, index) => set.firstId + index);
}

export function totalBytes(set: SourceSet): number {
  return set.count * set.sizeBytes;
}

/** Builds an S3 client with the settings the service processes of `stack` get. */
export function s3ClientFor(stack: Stack): S3Client {
  return createS3Client(loadConfig(stack.env).s3);
}

/** Writes each source of `set` that is missing or has another size. */
export async function ensureSources(stack: Stack, set: SourceSet): Promise<void> {
  const client = s3ClientFor(stack);
  try {
    for (const fileId of fileIdsOf(set)) {
      const key = `downloads/${fileId}.zip`;
      if ((await sizeOf(client, key)) === set.sizeBytes) continue;

      const command = new PutObjectCommand({
        Bucket: 'downloads',
        Key: key,
        Body: randomBytes(set.sizeBytes),
        Metadata: { filename: `source-${fileId}.bin` },
      });
      await client.send(command);
    }
  } finally {
    client.destroy();
  }
}

async function sizeOf(client: S3Client, key: string): Promise<number | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: 'downloads', Key: key }));
    return head.ContentLength;
  } catch {
    return undefined;
  }
}
