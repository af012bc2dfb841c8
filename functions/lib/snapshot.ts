/** The export record kept in Redis, and the snapshot that clients see of it. */
import { anonymousOwner } from '../../runtime/contract/define.js';

export type ExportStatus =
  | 'queued'
  | 'processing'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'expired';

/** Statuses after which nothing more happens to an export but its record's expiry. */
export const terminalStatuses: ReadonlySet<ExportStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'expired',
]);

/** Files and bytes done; `percent` is source bytes read over the sum of source sizes. */
export interface ExportProgress {
  percent: number;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** The finished zip in the exports bucket. */
export interface ExportArtifact {
  bucket: string;
  key: string;
  fileName: string;
  size: number;
  sha256: string;
}

/** A job's record. Fields below `version` are internal and never leave the service. */
export interface ExportRecord {
  jobId: string;
  /** The owner who created the export; `anonymous` while authentication is off. */
  owner: string;
  status: ExportStatus;
  attempt: number;
  maxAttempts: number;
  fileIds: number[];
  progress: ExportProgress;
  missingFileIds: number[];
  createdAt: string;
  updatedAt: string;
  /** Grows by one with every stored change; SSE frames use it as their id. */
  version: number;
  downloadUrl?: string;
  expiresAt?: string;
  error?: { code: string; message: string };
  /** The failure of the last attempt, while another one is still to come. */
  lastError?: { code: string; message: string } | undefined;
  artifact?: ExportArtifact;
  /** The URL that receives the snapshot once the export ends. */
  callbackUrl?: string;
  /** Each delivery attempt of the completion webhook. */
  webhook?: WebhookDelivery;
  /** The multipart upload of the running attempt, so a later attempt can abort it. */
  upload?: { bucket: string; key: string; uploadId: string } | undefined;
}

/** The state of a completion webhook. */
export interface WebhookDelivery {
  delivered: boolean;
  attempts: Array<{ at: string; status?: number; error?: string }>;
}

/** The client's view of an export, in `GET /v1/export/:id` and the SSE frames. */
export interface ExportSnapshot {
  jobId: string;
  status: ExportStatus;
  attempt: number;
  maxAttempts: number;
  progress: ExportProgress;
  missingFileIds: number[];
  createdAt: string;
  updatedAt: string;
  version: number;
  downloadUrl?: string;
  expiresAt?: string;
  zip?: { fileName: string; size: number; sha256: string };
  error?: { code: string; message: string };
  lastError?: { code: string; message: string } | undefined;
  webhook?: WebhookDelivery;
}

/** Builds a new queued record for `fileIds`, which must already be distinct. */
export function newRecord(
  jobId: string,
  fileIds: number[],
  maxAttempts: number,
  now: Date,
  owner = anonymousOwner,
): ExportRecord {
  const timestamp = now.toISOString();

  return {
    jobId,
    owner,
    status: 'queued',
    attempt: 0,
    maxAttempts,
    fileIds,
    progress: { percent: 0, filesDone: 0, filesTotal: fileIds.length, bytesDone: 0, bytesTotal: 0 },
    missingFileIds: [],
    createdAt: timestamp,
    updatedAt: timestamp,
    version: 1,
  };
}

/** Returns the client's view of `record`, without bucket names, keys or the id list. */
export function toSnapshot(record: ExportRecord): ExportSnapshot {
  const {
    fileIds: _fileIds,
    artifact,
    owner: _owner,
    upload: _upload,
    callbackUrl: _callbackUrl,
    ...visible
  } = record;

  if (record.status !== 'completed' || !artifact) return visible;

  return {
    ...visible,
    zip: { fileName: artifact.fileName, size: artifact.size, sha256: artifact.sha256 },
  };
}

const sharedSnapshots = new WeakMap<ExportRecord, ExportSnapshot>();

/**
 * Returns `toSnapshot(record)`, built once per record object. Job events hand the same parsed
 * record to every stream that follows an export, so they all share one snapshot, and the SSE
 * host serialises that snapshot once. Use it only for records that nothing changes afterwards.
 */
export function sharedSnapshot(record: ExportRecord): ExportSnapshot {
  let snapshot = sharedSnapshots.get(record);
  if (!snapshot) {
    snapshot = toSnapshot(record);
    sharedSnapshots.set(record, snapshot);
  }

  return snapshot;
}
