/** Reads source objects from S3 for zip verification. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';

import { sourceKey } from './settings.js';
import type { SourceReader } from './verify.js';

/** The bucket and key template of the source objects. */
export interface SourceObjects {
  bucket: string;
  keyTemplate: string;
}

/**
 * Returns a reader that streams the source object of a file id, or null when it is missing.
 * Requests started after `signal` aborts fail at once.
 */
export function createS3SourceReader(
  client: S3Client,
  objects: SourceObjects,
  signal?: AbortSignal,
): SourceReader {
  return async (fileId) => {
    const key = sourceKey(objects.keyTemplate, fileId);

    try {
      const command = new GetObjectCommand({ Bucket: objects.bucket, Key: key });
      const output = await client.send(command, { abortSignal: signal });
      if (!(output.Body instanceof Readable)) {
        throw new Error(`GetObject s3://${objects.bucket}/${key} returned no Node.js stream`);
      }

      return output.Body;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  };
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;

  // A missing bucket is a setup error, not a missing file, so it must not read as "not found".
  if (name === 'NoSuchBucket') return false;

  return name === 'NoSuchKey' || metadata?.httpStatusCode === 404;
}
