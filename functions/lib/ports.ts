/**
 * The ports that function files depend on. The runtime builds real adapters for them (Redis,
 * BullMQ, S3); unit tests pass in-memory ones. Nothing here imports a host or an SDK.
 */
import type { Readable } from 'node:stream';

import type { ExportRecord } from './snapshot.js';

/** Export records kept apart from the queue, each with a version that grows on every write. */
export interface JobRecords {
  /**
   * Stores a new record and counts it among its owner's active exports, unless the owner
   * already has `limits.maxActive` exports that have not ended. Then it stores nothing and
   * returns `created: false`. Concurrent calls never go past the max. Rejects when the id
   * already exists.
   */
  create(record: ExportRecord, limits?: { maxActive: number }): Promise<CreateResult>;

  get(jobId: string): Promise<ExportRecord | null>;

  /**
   * Applies `change` to the current record and stores the result with `version + 1`, then
   * publishes it to subscribers. Retries on a concurrent write. A `change` that returns the
   * record it was given writes nothing.
   */
  update(jobId: string, change: (current: ExportRecord) => ExportRecord): Promise<ExportRecord>;

  /**
   * Returns an owner's records, newest first; ties in creation time go by descending job id.
   * With `after`, only the records that come after that one in this order.
   */
  listByOwner(
    owner: string,
    options: { after?: ListPosition; limit: number },
  ): Promise<ExportRecord[]>;
}

/** The outcome of `JobRecords.create`. */
export interface CreateResult {
  /** False when the owner was at the max of active exports, so nothing was stored. */
  created: boolean;
  /** The owner's exports that had not ended, not counting this one. */
  activeBefore: number;
}

/** A place in an owner's list of exports. */
export interface ListPosition {
  /** Creation time in ms. */
  createdAt: number;
  jobId: string;
}

/** Records published after each update, for live followers such as SSE streams. */
export interface JobEvents {
  /**
   * Yields the versions of `jobId` published after the call, until `signal` aborts. A reader
   * that falls behind may skip versions that have not ended, but still gets the newest one and
   * every terminal one. The subscription is live when the returned promise resolves, so a read
   * after it misses no change.
   */
  subscribe(jobId: string, signal: AbortSignal): Promise<AsyncIterable<ExportRecord>>;
}

/** Options of one enqueued job. */
export interface EnqueueOptions {
  jobId: string;
  attempts: number;
  delayMs?: number;
}

/** The queue that carries jobs to job functions. */
export interface JobQueue {
  enqueue(jobName: string, data: unknown, options: EnqueueOptions): Promise<void>;

  /** Removes a job that no worker has started; returns false when it is running or gone. */
  remove(jobId: string): Promise<boolean>;
}

/** The metadata a HEAD request returns for an object. */
export interface ObjectInfo {
  size: number;
  etag: string;
  metadata: Record<string, string>;
}

/** One object of a listing. */
export interface ListedObject {
  key: string;
  size: number;
}

/** A page of a listing, in key order. */
export interface ObjectPage {
  objects: ListedObject[];
  /** Pass as `startAfter` to get the next page; unset on the last page. */
  nextStartAfter?: string;
}

/** Options of a streaming multipart upload. */
export interface UploadOptions {
  contentType: string;
  partSizeBytes: number;
  /** Parts uploaded at once; with `partSizeBytes` it bounds the memory held in flight. */
  partsInFlight: number;
  signal: AbortSignal;
  /** Called once S3 has assigned the multipart upload its id. */
  onUploadStarted?: (uploadId: string) => Promise<void>;
}

/** The S3-compatible store, in the few calls the functions need. */
export interface ObjectStore {
  /** Returns null when the object does not exist. */
  head(bucket: string, key: string): Promise<ObjectInfo | null>;

  /** Returns null when the object does not exist (for example, deleted after a HEAD). */
  read(bucket: string, key: string, signal: AbortSignal): Promise<Readable | null>;

  /** Uploads `body` as a multipart upload and aborts the upload when the body or signal fails. */
  upload(bucket: string, key: string, body: Readable, options: UploadOptions): Promise<void>;

  delete(bucket: string, key: string): Promise<void>;

  /** Lists up to `limit` objects under `prefix` whose keys sort after `startAfter`. */
  list(
    bucket: string,
    prefix: string,
    options: { startAfter?: string; limit: number },
  ): Promise<ObjectPage>;

  /** Aborts a multipart upload, such as one left behind by a killed worker. */
  abortUpload(bucket: string, key: string, uploadId: string): Promise<void>;

  /** Throws when the bucket is unreachable, missing or forbidden. */
  checkBucket(bucket: string): Promise<void>;
}

/** Makes presigned URLs for the public S3 address that browsers use. */
export interface UrlSigner {
  signDownload(bucket: string, key: string, options: SignDownloadOptions): Promise<string>;
}

/** Options of a presigned download URL. */
export interface SignDownloadOptions {
  expiresInSeconds: number;
  /** The file name a browser saves the download under. */
  fileName: string;
}

/** Short-lived claims in a store shared by every API process, such as idempotency keys. */
export interface ClaimStore {
  /** Stores `value` under `key` unless it exists; returns null when stored, else the holder. */
  claim(key: string, value: string, ttlSeconds: number): Promise<string | null>;

  /** Stores `value` under `key`, replacing what is there. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;

  release(key: string): Promise<void>;
}

/** Issues read tokens: expiring grants to read one export, or all exports of an owner. */
export interface TokenIssuer {
  /** `exportId` undefined grants every export of `owner`; `expiresAt` is in ms. */
  issue(owner: string, exportId: string | undefined, expiresAt: number): string;
}

/** The response of a webhook endpoint. */
export interface WebhookResponse {
  status: number;
}

/** Sends webhook requests to addresses the configured allow-list accepts. */
export interface WebhookSender {
  /** Throws WebhookRejectedError for an address outside the allow-list, at any point. */
  check(url: string): void;

  /** POSTs `body` with `headers`; follows no redirect; throws on network errors. */
  post(url: string, body: string, headers: Record<string, string>): Promise<WebhookResponse>;
}

/** Signs webhook payloads (Standard Webhooks: id, timestamp and signature headers). */
export interface WebhookSigner {
  sign(messageId: string, timestamp: Date, payload: string): string;
}

/** A clock and id source, injected so tests control time and ids. */
export interface Clock {
  now(): number;
}

/** Redis reachability, for health checks. */
export interface RedisProbe {
  ping(): Promise<void>;
}
