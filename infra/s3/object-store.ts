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
import { Upload } from '@aws-sdk/lib-storage';
import { SpanStatusCode, trace } from '@opentelemetry/api';

import type {
  ObjectInfo,
  ObjectPage,
  ObjectStore,
  UploadOptions,
} from '../../functions/lib/ports.js';
import { StorageError } from '../../runtime/contract/errors.js';
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
    const upload = new Upload({
      client: this.client,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: options.contentType },
      partSize: options.partSizeBytes,
      queueSize: options.partsInFlight,
      // A failed upload is aborted, so no half-written multipart upload stays in the bucket.
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort();
    options.signal.addEventListener('abort', abort, { once: true });
    const reportUploadId = watchUploadId(upload, options.onUploadStarted);

    // One parent span keeps the calls of the upload together: a multipart upload's create, part
    // and complete calls, or the single PutObject that lib-storage sends for a small body.
    const tracer = trace.getTracer('export-service');
    await tracer.startActiveSpan('S3 upload', async (span) => {
      span.setAttributes({ 'aws.s3.bucket': bucket, 'aws.s3.key': key });
      try {
        await upload.done();
        await reportUploadId.settled();
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        asStorageError(`multipart upload to ${bucket}/${key}`, error);
      } finally {
        options.signal.removeEventListener('abort', abort);
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

/**
 * Reports the multipart upload id once lib-storage has one. lib-storage emits no event for
 * the id itself, so it is read from `upload.uploadId` at each part's progress event. A body
 * small enough for one PutObject never gets an id.
 */
function watchUploadId(upload: Upload, onUploadStarted?: (uploadId: string) => Promise<void>) {
  let reported: Promise<void> = Promise.resolve();
  let done = false;

  upload.on('httpUploadProgress', () => {
    const uploadId = upload.uploadId;
    if (done || !uploadId || !onUploadStarted) return;

    done = true;
    reported = onUploadStarted(uploadId);
  });

  return { settled: () => reported };
}

function isNotFound(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;

  return name === 'NotFound' || name === 'NoSuchKey';
}
