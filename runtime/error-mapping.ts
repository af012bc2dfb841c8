/**
 * The one mapping from errors to HTTP responses and to retry decisions, shared by every host.
 */
import {
  BackendUnavailableError,
  HttpError,
  isError,
  PermanentJobError,
  RetryableJobError,
  StorageError,
} from './contract/errors.js';

/** An error response body and status. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; field?: string } };
  /** True when the error was not expected and the host must log it. */
  unexpected: boolean;
}

/** Seconds a client should wait before retrying after an outage. */
const outageRetryAfterSeconds = 5;

/** Maps any error thrown by a function or the host onto the HTTP response to send. */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (isError(error, HttpError)) {
    const field = error.field === undefined ? {} : { field: error.field };
    const body = { error: { code: error.code, message: error.message, ...field } };
    return { status: error.status, headers: error.headers, body, unexpected: false };
  }

  const outage = isOutage(error);
  if (outage) {
    return {
      status: 503,
      headers: { 'Retry-After': String(outageRetryAfterSeconds) },
      body: { error: { code: 'unavailable', message: outage } },
      unexpected: false,
    };
  }

  return {
    status: 500,
    headers: {},
    body: { error: { code: 'internal', message: 'The server failed to handle the request' } },
    unexpected: true,
  };
}

/** The decision a worker host acts on after a failed run. */
export interface RetryDecision {
  retry: boolean;
  code: string;
  message: string;
}

/**
 * Decides whether a failed job run is worth another attempt: permanent job errors, access
 * denied and a missing bucket are not; outages, network errors, throttling, 5xx and anything
 * unexpected are.
 */
export function toRetryDecision(error: unknown): RetryDecision {
  if (isError(error, PermanentJobError)) {
    return { retry: false, code: error.code, message: error.message };
  }
  if (isError(error, RetryableJobError)) {
    return { retry: true, code: error.code, message: error.message };
  }
  if (isError(error, StorageError)) {
    const retry = error.failure === 'unavailable' || error.failure === 'conflict';
    return { retry, code: `storage_${error.failure}`, message: error.message };
  }
  if (isError(error, BackendUnavailableError)) {
    return { retry: true, code: `${error.backend}_unavailable`, message: error.message };
  }

  const message = error instanceof Error ? error.message : String(error);
  return { retry: true, code: 'internal', message };
}

function isOutage(error: unknown): string | undefined {
  if (isError(error, BackendUnavailableError)) return `${error.backend} is unavailable; retry shortly`;
  if (isError(error, StorageError) && error.failure === 'unavailable') {
    return 'storage is unavailable; retry shortly';
  }

  return undefined;
}
