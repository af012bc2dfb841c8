/** Maps AWS SDK failures onto the contract's StorageError, by error name and HTTP status. */
import { StorageError, type StorageFailure } from '../../runtime/contract/errors.js';

const byName: Record<string, StorageFailure> = {
  AccessDenied: 'access_denied',
  InvalidAccessKeyId: 'access_denied',
  SignatureDoesNotMatch: 'access_denied',
  Forbidden: 'access_denied',
  NoSuchBucket: 'bucket_missing',
  SlowDown: 'unavailable',
  Throttling: 'unavailable',
  ThrottlingException: 'unavailable',
  RequestTimeout: 'unavailable',
  TimeoutError: 'unavailable',
  InternalError: 'unavailable',
  ServiceUnavailable: 'unavailable',
  PreconditionFailed: 'conflict',
};

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

interface SdkErrorFields {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Returns the failure kind of an SDK error, or undefined when it is not a storage failure. */
export function classifyStorageError(error: unknown): StorageFailure | undefined {
  if (!(error instanceof Error)) return undefined;

  const fields = error as Error & SdkErrorFields;
  const named = byName[fields.name ?? ''];
  if (named) return named;

  const status = fields.$metadata?.httpStatusCode;
  if (status === 403) return 'access_denied';
  if (status === 429 || (status !== undefined && status >= 500)) return 'unavailable';
  if (fields.code && networkCodes.has(fields.code)) return 'unavailable';

  return undefined;
}

/** Rethrows `error` as a StorageError naming `action` when it is a storage failure. */
export function asStorageError(action: string, error: unknown): never {
  const failure = classifyStorageError(error);
  if (failure === undefined || error instanceof StorageError) throw error;

  const reason = (error as Error).name || 'error';
  throw new StorageError(failure, `S3 ${action} failed: ${reason}`, { cause: error });
}
