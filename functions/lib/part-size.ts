/** S3 multipart limits and the rule that picks a part size for an export of a given size. */
import { PermanentJobError } from '../../runtime/contract/errors.js';

const MiB = 1024 * 1024;

/** S3 rejects multipart uploads with more parts than this. */
export const maxParts = 10_000;

/** S3's smallest part, except for the last one. */
export const minPartSizeBytes = 5 * MiB;

/** S3's largest part. */
export const maxPartSizeBytes = 5 * 1024 * MiB;

/** Upper bound on parallel part uploads, whatever the budget allows. */
const maxPartsInFlight = 8;

/** The part size and the number of parts uploaded at once. */
export interface UploadPlan {
  partSizeBytes: number;
  partsInFlight: number;
}

/**
 * Picks the smallest whole-MiB part size that fits `totalBytes` into 10,000 parts, then as
 * many parallel parts as `memoryBudgetBytes` holds. The uploader buffers one more part while
 * the others are in flight, so the plan keeps `(partsInFlight + 1) × partSize` within the
 * budget whenever one part in flight allows it.
 */
export function planUpload(totalBytes: number, memoryBudgetBytes: number): UploadPlan {
  const needed = Math.ceil(totalBytes / maxParts / MiB) * MiB;
  const partSizeBytes = Math.max(minPartSizeBytes, needed);

  if (partSizeBytes > maxPartSizeBytes) {
    throw new PermanentJobError(
      'export_too_large',
      `The export needs ${totalBytes} bytes, more than S3's 10,000 parts of 5 GiB can hold`,
    );
  }

  const fitting = Math.floor(memoryBudgetBytes / partSizeBytes) - 1;
  const partsInFlight = Math.min(maxPartsInFlight, Math.max(1, fitting));

  return { partSizeBytes, partsInFlight };
}
