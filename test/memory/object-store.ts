/** An object store in Maps, with switches that make single calls fail, for unit tests. */
import { createHash } from 'node:crypto';
import { addAbortSignal, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';

import type { ObjectInfo, ObjectStore, UploadOptions } from '../../functions/lib/ports.js';
import { maxParts } from '../../functions/lib/part-size.js';
import { StorageError } from '../../runtime/contract/errors.js';

/** One stored object. */
export interface StoredObject {
  body: Buffer;
  metadata: Record<string, string>;
}

/** One `upload` call and how it ended. */
export interface UploadCall {
  bucket: string;
  key: string;
  options: UploadOptions;
  outcome: 'running' | 'stored' | 'failed';
  error?: unknown;
}

/** A read or upload that fails after some of the object's bytes. */
interface Fault {
  error: Error;
  afterBytes: number;
}

export class MemoryObjectStore implements ObjectStore {
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  readonly uploads: UploadCall[] = [];
  /** Size of the chunks that `read` streams, so progress can be seen within one object. */
  readChunkBytes = 64 * 1024;

  private readonly deleteOnRead = new Set<string>();
  private readonly readFaults = new Map<string, Fault>();
  private uploadFault: Fault | undefined;

  constructor(bucketNames: string[] = []) {
    for (const name of bucketNames) this.buckets.set(name, new Map());
  }

  /** Stores an object directly, as another system would. */
  put(bucket: string, key: string, body: Buffer | string, metadata: Record<string, string> = {}) {
    this.bucket(bucket).set(key, { body: Buffer.from(body), metadata: { ...metadata } });
  }

  object(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  /** Deletes the object the next time it is read, as if it went away after its HEAD. */
  deleteWhenRead(bucket: string, key: string): void {
    this.deleteOnRead.add(`${bucket}/${key}`);
  }

  /** Makes the next read of the object fail with `error` after `afterBytes` bytes. */
  failNextRead(bucket: string, key: string, error: Error, afterBytes = 0): void {
    this.readFaults.set(`${bucket}/${key}`, { error, afterBytes });
  }

  /**
   * Makes the next upload reject with `error` once it has read `afterBytes` bytes or the whole
   * body; with 0 it rejects before reading. Like the AWS SDK's Upload, it destroys `body` then.
   */
  failNextUpload(error: Error, afterBytes = 0): void {
    this.uploadFault = { error, afterBytes };
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    const object = this.bucket(bucket).get(key);
    if (!object) return null;

    const etag = `"${createHash('md5').update(object.body).digest('hex')}"`;
    return { size: object.body.length, etag, metadata: { ...object.metadata } };
  }

  async read(bucket: string, key: string, signal: AbortSignal): Promise<Readable | null> {
    const objects = this.bucket(bucket);
    const address = `${bucket}/${key}`;
    if (this.deleteOnRead.delete(address)) objects.delete(key);

    const object = objects.get(key);
    if (!object) return null;

    const fault = this.readFaults.get(address);
    this.readFaults.delete(address);
    const stream = fault ? failingStream(object.body, fault) : this.chunkedStream(object.body);

    return addAbortSignal(signal, stream);
  }

  async upload(bucket: string, key: string, body: Readable, options: UploadOptions) {
    const call: UploadCall = { bucket, key, options, outcome: 'running' };
    this.uploads.push(call);
    const fault = this.uploadFault;
    this.uploadFault = undefined;

    try {
      const objects = this.bucket(bucket);
      const bytes = await readBody(addAbortSignal(options.signal, body), fault);
      checkPartCount(bytes.length, options.partSizeBytes);
      objects.set(key, { body: bytes, metadata: { 'content-type': options.contentType } });
      call.outcome = 'stored';
    } catch (error) {
      body.destroy();
      call.outcome = 'failed';
      call.error = error;
      throw error;
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    this.bucket(bucket).delete(key);
  }

  /** Upload ids passed to `abortUpload`, in call order. */
  readonly abortedUploads: string[] = [];

  async abortUpload(_bucket: string, _key: string, uploadId: string): Promise<void> {
    this.abortedUploads.push(uploadId);
  }

  async checkBucket(bucket: string): Promise<void> {
    this.bucket(bucket);
  }

  async list(bucket: string, prefix: string, options: { startAfter?: string; limit: number }) {
    const keys = [...this.bucket(bucket).keys()]
      .filter((key) => key.startsWith(prefix) && key > (options.startAfter ?? ''))
      .sort();
    const page = keys.slice(0, options.limit);
    const objects = page.map((key) => ({ key, size: this.bucket(bucket).get(key)!.body.length }));
    const last = page.at(-1);

    return keys.length > options.limit && last ? { objects, nextStartAfter: last } : { objects };
  }

  private bucket(name: string): Map<string, StoredObject> {
    const objects = this.buckets.get(name);
    if (!objects) throw new StorageError('bucket_missing', `The bucket ${name} does not exist`);

    return objects;
  }

  private chunkedStream(body: Buffer): Readable {
    const chunks: Buffer[] = [];
    for (let start = 0; start < body.length; start += this.readChunkBytes) {
      chunks.push(body.subarray(start, start + this.readChunkBytes));
    }

    return Readable.from(chunks, { objectMode: false });
  }
}

function failingStream(body: Buffer, fault: Fault): Readable {
  let sent = false;

  return new Readable({
    read() {
      if (!sent && fault.afterBytes > 0) {
        sent = true;
        this.push(body.subarray(0, fault.afterBytes));
        return;
      }

      this.destroy(fault.error);
    },
  });
}

/** Reads `body` whole, or throws the fault's error as `failNextUpload` describes. */
async function readBody(body: Readable, fault: Fault | undefined): Promise<Buffer> {
  if (!fault) return buffer(body);
  if (fault.afterBytes === 0) throw fault.error;

  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size >= fault.afterBytes) throw fault.error;
  }

  throw fault.error;
}

/** S3 rejects a multipart upload of more parts than it allows, so the memory store does too. */
function checkPartCount(size: number, partSizeBytes: number): void {
  const parts = Math.ceil(size / partSizeBytes);
  if (parts > maxParts) {
    throw new Error(`The upload needs ${parts} parts of ${partSizeBytes} bytes, over ${maxParts}`);
  }
}
