/**
 * Idempotency keys and joining identical requests, on the ClaimStore port. Both rest on one
 * atomic "set if absent" in Redis, so they hold across any number of API processes.
 */
import { createHash } from 'node:crypto';

import type { HttpContext } from '../../runtime/contract/define.js';
import { HttpError } from '../../runtime/contract/errors.js';
import type { ClaimStore, JobRecords } from './ports.js';
import { type ExportRecord, terminalStatuses } from './snapshot.js';

/** How long an idempotency key is remembered. */
export const idempotencyTtlSeconds = 24 * 3_600;

/** A finished or running request under an idempotency key. */
interface IdempotencyEntry {
  state: 'pending' | 'done';
  fingerprint: string;
  response?: unknown;
}

/** Returns a stable digest of `value`, for comparing request bodies and id sets. */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * Runs `create` once per idempotency key and owner. The same key with the same body returns
 * the first response; with another body, 422; while the first request still runs, 409.
 */
export async function runOnce<T>(
  claims: ClaimStore,
  context: HttpContext,
  key: string | undefined,
  fingerprint: string,
  create: () => Promise<T>,
): Promise<{ response: T; replayed: boolean }> {
  if (key === undefined) return { response: await create(), replayed: false };

  const claimKey = `idempotency:${context.owner}:${key}`;
  const pending: IdempotencyEntry = { state: 'pending', fingerprint };
  const holder = await claims.claim(claimKey, JSON.stringify(pending), idempotencyTtlSeconds);
  if (holder !== null) return { response: replay<T>(JSON.parse(holder), fingerprint), replayed: true };

  try {
    const response = await create();
    const done: IdempotencyEntry = { state: 'done', fingerprint, response };
    await claims.set(claimKey, JSON.stringify(done), idempotencyTtlSeconds);
    return { response, replayed: false };
  } catch (error) {
    // The request did not happen, so the same key may try again.
    await claims.release(claimKey);
    throw error;
  }
}

/**
 * Returns the running export of the same owner and file set, or claims the slot for
 * `newId` and returns null. A finished export in the slot gives way to the new one.
 */
export async function findRunningTwin(
  claims: ClaimStore,
  records: JobRecords,
  slot: { owner: string; fingerprint: string; newId: string; ttlSeconds: number },
): Promise<ExportRecord | null> {
  const claimKey = `running:${slot.owner}:${slot.fingerprint}`;
  const holder = await claims.claim(claimKey, slot.newId, slot.ttlSeconds);
  if (holder === null) return null;

  const twin = await waitForRecord(records, holder);
  if (twin && !terminalStatuses.has(twin.status)) return twin;

  // NOTE: two requests that both find a finished twin here both start an export.
  await claims.set(claimKey, slot.newId, slot.ttlSeconds);
  return null;
}

/** How long a joining request waits for a twin that claimed its slot but is still starting. */
const twinStartWaitMs = 1_000;
const twinPollMs = 50;

/**
 * Returns the record of `jobId`, waiting a moment when it is missing: the slot is claimed
 * before the record is stored, so a twin that is still starting has none yet.
 */
async function waitForRecord(records: JobRecords, jobId: string): Promise<ExportRecord | null> {
  for (let waited = 0; ; waited += twinPollMs) {
    const record = await records.get(jobId);
    if (record || waited >= twinStartWaitMs) return record;

    await new Promise((resolve) => setTimeout(resolve, twinPollMs));
  }
}

function replay<T>(entry: IdempotencyEntry, fingerprint: string): T {
  if (entry.fingerprint !== fingerprint) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used with another request body; send a new key',
      'Idempotency-Key',
    );
  }
  if (entry.state === 'pending') {
    throw new HttpError(
      409,
      'request_in_progress',
      'A request with this Idempotency-Key is still being handled; retry shortly',
      'Idempotency-Key',
      { 'Retry-After': '1' },
    );
  }

  return entry.response as T;
}
