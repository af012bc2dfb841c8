import { describe, expect, it } from 'vitest';

import {
  BackendUnavailableError,
  HttpError,
  PermanentJobError,
  RetryableJobError,
  StorageError,
  type StorageFailure,
} from './contract/errors.js';
import { toErrorResponse, toRetryDecision } from './error-mapping.js';

/** Builds a plain Error with another class's name and fields, as deserialization leaves it. */
function withoutPrototype(name: string, fields: object): Error {
  return Object.assign(new Error(`${name} from another process`), { name, ...fields });
}

describe('toErrorResponse', () => {
  it('maps HttpError to its status', () => {
    const error = new HttpError(404, 'not_found', 'No export has the id x', 'id');
    const response = toErrorResponse(error);

    expect(response.status).toBe(404);
    expect(response.body.error).toEqual({ code: 'not_found', message: error.message, field: 'id' });
    expect(response.unexpected).toBe(false);
  });

  it('omits field when HttpError has none', () => {
    const response = toErrorResponse(new HttpError(413, 'payload_too_large', 'Too large'));

    expect(response.body.error).not.toHaveProperty('field');
  });

  it('passes HttpError headers on', () => {
    const headers = { 'Retry-After': '30' };
    const error = new HttpError(429, 'rate_limited', 'Slow down', undefined, headers);
    const response = toErrorResponse(error);

    expect(response.headers).toEqual(headers);
  });

  it('maps outages to 503 with Retry-After', () => {
    const outages = [
      new BackendUnavailableError('redis', 'Redis is unreachable'),
      new StorageError('unavailable', 'S3 returned 503'),
    ];

    for (const error of outages) {
      const response = toErrorResponse(error);

      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('unavailable');
      expect(response.headers['Retry-After']).toMatch(/^\d+$/);
      expect(response.unexpected).toBe(false);
    }
  });

  it('maps other storage failures to 500', () => {
    const response = toErrorResponse(new StorageError('access_denied', 'S3 returned 403'));

    expect(response.status).toBe(500);
    expect(response.unexpected).toBe(true);
  });

  it('maps a plain Error to 500', () => {
    const response = toErrorResponse(new Error('connection reset'));

    expect(response.status).toBe(500);
    expect(response.body.error.code).toBe('internal');
    expect(response.unexpected).toBe(true);
  });

  it('hides the internal message', () => {
    const response = toErrorResponse(new Error('password=hunter2'));

    expect(response.body.error.message).not.toContain('hunter2');
  });

  it('maps a thrown string to 500', () => {
    expect(toErrorResponse('failed').status).toBe(500);
  });

  it('maps HttpError without its prototype', () => {
    const error = withoutPrototype('HttpError', { status: 409, code: 'conflict', headers: {} });

    expect(toErrorResponse(error).status).toBe(409);
  });
});

describe('toRetryDecision', () => {
  const storageRetries: Array<[StorageFailure, boolean]> = [
    ['access_denied', false],
    ['bucket_missing', false],
    ['unavailable', true],
    ['conflict', true],
  ];

  it.each(storageRetries)('StorageError %s retries: %s', (failure, retry) => {
    const decision = toRetryDecision(new StorageError(failure, `S3 failed: ${failure}`));

    expect(decision.retry).toBe(retry);
    expect(decision.code).toBe(`storage_${failure}`);
  });

  it('stops on PermanentJobError', () => {
    const decision = toRetryDecision(new PermanentJobError('all_files_missing', 'No files'));

    expect(decision).toEqual({ retry: false, code: 'all_files_missing', message: 'No files' });
  });

  it('retries RetryableJobError', () => {
    const decision = toRetryDecision(new RetryableJobError('source_busy', 'Try later'));

    expect(decision).toEqual({ retry: true, code: 'source_busy', message: 'Try later' });
  });

  it('retries a backend outage', () => {
    const decision = toRetryDecision(new BackendUnavailableError('queue', 'Queue is down'));

    expect(decision.retry).toBe(true);
    expect(decision.code).toBe('queue_unavailable');
  });

  it('retries a plain Error', () => {
    const decision = toRetryDecision(new Error('socket hang up'));

    expect(decision).toEqual({ retry: true, code: 'internal', message: 'socket hang up' });
  });

  it('retries a thrown string', () => {
    const decision = toRetryDecision('timeout');

    expect(decision).toEqual({ retry: true, code: 'internal', message: 'timeout' });
  });

  it('maps PermanentJobError by name', () => {
    const error = withoutPrototype('PermanentJobError', { code: 'export_too_large' });
    const decision = toRetryDecision(error);

    expect(decision.retry).toBe(false);
    expect(decision.code).toBe('export_too_large');
  });

  it('maps StorageError by name', () => {
    const error = withoutPrototype('StorageError', { failure: 'access_denied' });
    const decision = toRetryDecision(error);

    expect(decision.retry).toBe(false);
    expect(decision.code).toBe('storage_access_denied');
  });

  it('maps RetryableJobError by name', () => {
    const error = withoutPrototype('RetryableJobError', { code: 'source_busy' });
    const decision = toRetryDecision(error);

    expect(decision.retry).toBe(true);
    expect(decision.code).toBe('source_busy');
  });
});
