/** The ObjectStore port over the AWS SDK, for S3, MinIO and the local emulator alike. */
import type { Readable } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SpanStatusCode, trace } from '@opentelemetry/api';

import type {
  ObjectInfo,
  ObjectPage,
  ObjectStore,
  UploadOptions,
} from '../../functions/lib/ports.js';
import { StorageError } from '../../runtime/contract/errors.js';
import { uploadMultipart } from './multipart-upload.js';
import { asStorageError } from './storage-errors.js';

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: head.ContentLength ?? 0, etag: head.ETag ?? '', metadata: head.Metadata ?? {} };
    } catch (error) {
      if (isNotFound(error)) return null;
      return asStorageError(`HEAD ${bucket}/${key}`, error);
    }
  }

  async read(bucket: string, key: string, signal: AbortSignal): Promise<Readable | null> {
    try {
      const command = new GetObjectCommand({ Bucket: bucket, Key: key });
      const object = await this.client.send(command, { abortSignal: signal });
      return object.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return null;
      return asStorageError(`GET ${bucket}/${key}`, error);
    }
  }

  async upload(bucket: string, key: string, body: Readable, options: UploadOptions) {
    // One parent span keeps the calls of the upload together: a multipart upload's create, part
    // and complete calls, or the single PutObject of a body that fits into one part.
    const tracer = trace.getTracer('export-service');
    await tracer.startActiveSpan('S3 upload', async (span) => {
      span.setAttributes({ 'aws.s3.bucket': bucket, 'aws.s3.key': key });
      try {
        await uploadMultipart(body, { ...options, client: this.client, bucket, key });
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        asStorageError(`multipart upload to ${bucket}/${key}`, error);
      } finally {
        span.end();
      }
    });
  }

  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const command = new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId });
    try {
      await this.client.send(command);
    } catch (error) {
      // Already completed or aborted: nothing is left to clean up.
      if ((error as Error).name === 'NoSuchUpload') return;
      asStorageError(`abort of upload ${uploadId} to ${bucket}/${key}`, error);
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      asStorageError(`DELETE ${bucket}/${key}`, error);
    }
  }

  async list(
    bucket: string,
    prefix: string,
    options: { startAfter?: string; limit: number },
  ): Promise<ObjectPage> {
    // ListObjects (version 1) pages by key: the local emulator's ListObjectsV2 continuation
    // tokens need DES, which Node 20's OpenSSL 3 no longer offers. S3 and MinIO serve both.
    const command = new ListObjectsCommand({
      Bucket: bucket,
      Prefix: prefix,
      MaxKeys: options.limit,
      ...(options.startAfter ? { Marker: options.startAfter } : {}),
    });
    try {
      const page = await this.client.send(command);
      const objects = (page.Contents ?? []).map((item) => ({
        key: item.Key ?? '',
        size: item.Size ?? 0,
      }));
      const last = objects.at(-1)?.key;
      return page.IsTruncated && last ? { objects, nextStartAfter: last } : { objects };
    } catch (error) {
      return asStorageError(`LIST ${bucket}/${prefix}`, error);
    }
  }

  async checkBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      // HEAD responses carry no error code, so a missing bucket shows only as a 404.
      if (isNotFound(error)) {
        throw new StorageError('bucket_missing', `S3 bucket ${bucket} does not exist`);
      }
      asStorageError(`HEAD bucket ${bucket}`, error);
    }
  }
}

function isNotFound(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;

  return name === 'NotFound' || name === 'NoSuchKey';
}
