/**
 * A streaming multipart upload that copies the body into at most `partsInFlight + 1` part
 * buffers and reuses them from part to part. @aws-sdk/lib-storage 3.1178 instead joins each
 * part's chunks with `Buffer.concat`, a new buffer of a part's size per part, and those stay in
 * memory until the garbage collector frees them.
 */
import type { Readable } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

import type { UploadOptions } from '../../functions/lib/ports.js';

/** Target bucket and key, the S3 client and the upload settings. */
export interface MultipartUploadOptions extends UploadOptions {
  client: S3Client;
  bucket: string;
  key: string;
}

/** Bytes of the body, in a buffer that is handed back once its upload is done. */
interface Part {
  number: number;
  buffer: Buffer;
  length: number;
  last: boolean;
}

/**
 * Uploads `body` in parts of `partSizeBytes`, at most `partsInFlight` at a time. A body that
 * fits into one part goes up as one PutObject instead. On any failure the multipart upload is
 * aborted and the first failure is thrown.
 */
export async function uploadMultipart(body: Readable, options: MultipartUploadOptions) {
  const pool = new BufferPool(options.partSizeBytes);
  const parts = readParts(body, pool);
  const first = await parts.next();
  if (first.done) return;

  if (first.value.last) {
    await putObject(first.value, options);
    return;
  }

  const uploadId = await createUpload(options);
  try {
    await options.onUploadStarted?.(uploadId);
    await uploadParts(first.value, parts, uploadId, pool, options);
  } catch (error) {
    await parts.return(undefined);
    await abortUpload(uploadId, options, error);
    throw error;
  }
}

async function uploadParts(
  first: Part,
  rest: AsyncGenerator<Part>,
  uploadId: string,
  pool: BufferPool,
  options: MultipartUploadOptions,
) {
  const completed: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const start = (part: Part) => {
    const sent = uploadPart(part, uploadId, options)
      .then((etag) => void completed.push({ PartNumber: part.number, ETag: etag }))
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => {
        pool.release(part.buffer);
        inFlight.delete(sent);
      });
    inFlight.add(sent);
  };

  start(first);
  for await (const part of rest) {
    // The next part is only read once a slot is free, so at most `partsInFlight + 1` buffers
    // exist.
    while (inFlight.size >= options.partsInFlight && !failure) await Promise.race(inFlight);
    if (failure) break;
    start(part);
  }

  await Promise.all(inFlight);
  if (failure) throw failure.error;

  await completeUpload(uploadId, completed, options);
}

/**
 * Yields the body as parts, each in a buffer from `pool`. The consumer must release a part's
 * buffer before the pool runs dry, or the generator allocates another one.
 */
async function* readParts(body: Readable, pool: BufferPool): AsyncGenerator<Part> {
  let part: Part = { number: 1, buffer: pool.take(), length: 0, last: false };

  for await (const chunk of body as AsyncIterable<Buffer>) {
    let offset = 0;
    while (offset < chunk.length) {
      if (part.length === part.buffer.length) {
        yield part;
        part = { number: part.number + 1, buffer: pool.take(), length: 0, last: false };
      }
      const copied = chunk.copy(part.buffer, part.length, offset);
      part.length += copied;
      offset += copied;
    }
  }

  // An empty body still needs one part, so that the object exists.
  yield { ...part, last: true };
}

/** Part buffers of one size, kept for reuse once their upload is done. */
class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly size: number) {}

  take(): Buffer {
    // allocUnsafeSlow: a part is overwritten before it is sent, and it is too big for the
    // shared pool of Buffer.allocUnsafe anyway.
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  release(buffer: Buffer): void {
    this.free.push(buffer);
  }
}

async function putObject(part: Part, options: MultipartUploadOptions) {
  const command = new PutObjectCommand({
    Bucket: options.bucket,
    Key: options.key,
    ContentType: options.contentType,
    Body: part.buffer.subarray(0, part.length),
  });

  await options.client.send(command, { abortSignal: options.signal });
}

async function createUpload(options: MultipartUploadOptions): Promise<string> {
  const command = new CreateMultipartUploadCommand({
    Bucket: options.bucket,
    Key: options.key,
    ContentType: options.contentType,
  });
  const { UploadId: uploadId } = await options.client.send(command, {
    abortSignal: options.signal,
  });
  if (!uploadId) throw new Error(`CreateMultipartUpload for ${options.key} returned no UploadId`);

  return uploadId;
}

async function uploadPart(
  part: Part,
  uploadId: string,
  options: MultipartUploadOptions,
): Promise<string> {
  const command = new UploadPartCommand({
    Bucket: options.bucket,
    Key: options.key,
    UploadId: uploadId,
    PartNumber: part.number,
    Body: part.buffer.subarray(0, part.length),
  });
  const { ETag: etag } = await options.client.send(command, { abortSignal: options.signal });
  if (!etag) throw new Error(`UploadPart ${part.number} of ${options.key} returned no ETag`);

  return etag;
}

async function completeUpload(
  uploadId: string,
  completed: CompletedPart[],
  options: MultipartUploadOptions,
) {
  const parts = completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  const command = new CompleteMultipartUploadCommand({
    Bucket: options.bucket,
    Key: options.key,
    UploadId: uploadId,
    MultipartUpload: { Parts: parts },
  });

  await options.client.send(command, { abortSignal: options.signal });
}

/**
 * Aborts the upload so that no stored parts stay behind. It runs without the caller's signal,
 * which may be the cause of the failure. A failed abort goes onto `failure` as its cause.
 */
async function abortUpload(uploadId: string, options: MultipartUploadOptions, failure: unknown) {
  const command = new AbortMultipartUploadCommand({
    Bucket: options.bucket,
    Key: options.key,
    UploadId: uploadId,
  });

  try {
    await options.client.send(command);
  } catch (abortError) {
    if (failure instanceof Error && failure.cause === undefined) failure.cause = abortError;
  }
}
