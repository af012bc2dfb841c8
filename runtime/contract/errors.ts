/**
 * Errors that function files throw to steer a host. Hosts match on `name` as well as
 * `instanceof`, because an error can cross a process boundary (a BullMQ failure reason, a
 * serialized Lambda error) and lose its prototype on the way.
 */

/** A request-time problem with a status, a stable code, a message and the field at fault. */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A job failure that another attempt cannot fix, so the host skips the remaining retries. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A job failure worth another attempt; `code` is what the job record shows meanwhile. */
export class RetryableJobError extends Error {
  override readonly name = 'RetryableJobError';

  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The cause of a storage failure, in terms a function can act on without knowing the SDK. */
export type StorageFailure = 'access_denied' | 'bucket_missing' | 'unavailable' | 'conflict';

/** A storage adapter's failure, mapped from the SDK's error names and HTTP statuses. */
export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly failure: StorageFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A webhook address outside the allow-list, or one resolving to a refused address. */
export class WebhookRejectedError extends Error {
  override readonly name = 'WebhookRejectedError';
}

/** A Redis or queue outage, seen by the hosts as "try again shortly". */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';

  constructor(
    readonly backend: 'redis' | 'storage' | 'queue',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Returns true when `error` is an instance of `type` or carries its name after crossing a boundary. */
export function isError<T extends Error>(
  error: unknown,
  type: abstract new (...args: never[]) => T,
): error is T {
  if (error instanceof type) return true;

  return error instanceof Error && error.name === type.name;
}
