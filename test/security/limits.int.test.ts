/**
 * Per-owner limits with authentication on: the read and create budgets (keyed by owner, with
 * RateLimit headers and 429 past them), exports running at once, files per export and source
 * bytes per export. Each test uses owners of its own, so every test starts with full budgets.
 */
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { waitForRoomInWindow } from '../support/rate-window.js';
import {
  createExportAs,
  holdSourceLookups,
  readError,
  type SecureStack,
  send,
  startSecureStack,
  waitForEndAs,
} from './secure-stack.js';

const readLimit = 30;
const createLimit = 4;
/** Long, so that no test runs across the end of a window (see `waitForRoomInWindow`). */
const windowSeconds = 3_600;
const maxActive = 2;
const maxFiles = 3;
const maxExportMiB = 1;
const maxExportBytes = maxExportMiB * 1_048_576;

const halfLimitFiles = [84_001, 84_002];
const oneByteFile = 84_003;
const missingFile = 84_999;

let stack: SecureStack;
let nextOwner = 1;

beforeAll(async () => {
  stack = await startSecureStack({
    env: {
      RATE_LIMIT_READ: String(readLimit),
      RATE_LIMIT_CREATE: String(createLimit),
      RATE_LIMIT_WINDOW_SECONDS: String(windowSeconds),
      MAX_ACTIVE_EXPORTS: String(maxActive),
      MAX_FILES_PER_EXPORT: String(maxFiles),
      MAX_EXPORT_MIB: String(maxExportMiB),
    },
  });
  for (const fileId of halfLimitFiles) {
    await stack.service.putSource(fileId, randomBytes(maxExportBytes / 2), `${fileId}.bin`);
  }
  await stack.service.putSource(oneByteFile, randomBytes(1), 'one-byte.bin');
});

afterAll(async () => {
  await stack?.stop();
});

/** Creates an API key for an owner that no other test uses. */
async function newOwnerKey(): Promise<string> {
  const owner = `limits-${nextOwner}`;
  nextOwner += 1;

  return stack.createKey(owner);
}

/** Sends `count` reads with `key` and returns their statuses, each body read to the end. */
async function spendReads(key: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) {
    const response = await send(stack.apiUrl, '/v1/files', { key });
    await response.arrayBuffer();
    statuses.push(response.status);
  }

  return statuses;
}

describe('read budget', () => {
  beforeAll(async () => {
    await waitForRoomInWindow(windowSeconds, 20_000);
  });

  it('returns 429 past the limit', async () => {
    const key = await newOwnerKey();
    const statuses = await spendReads(key, readLimit);
    const response = await send(stack.apiUrl, '/v1/files', { key });
    const error = await readError(response);

    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(response.status).toBe(429);
    expect(error.code).toBe('rate_limited');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(response.headers.get('ratelimit-limit')).toBe(String(readLimit));
    expect(response.headers.get('ratelimit-remaining')).toBe('0');
  });

  it('counts down RateLimit-Remaining', async () => {
    const key = await newOwnerKey();
    await spendReads(key, 2);
    const response = await send(stack.apiUrl, '/v1/files', { key });
    await response.arrayBuffer();

    expect(response.headers.get('ratelimit-remaining')).toBe(String(readLimit - 3));
  });

  it('keeps owners on one address apart', async () => {
    const spent = await newOwnerKey();
    const other = await newOwnerKey();
    await spendReads(spent, readLimit + 1);

    expect(await spendReads(other, 1)).toEqual([200]);
  });

  it('charges read tokens to their owner', async () => {
    const key = await newOwnerKey();
    const issued = await send(stack.apiUrl, '/v1/tokens', { method: 'POST', key });
    const { token } = (await issued.json()) as { token: string };
    await spendReads(key, readLimit);
    const response = await send(stack.apiUrl, '/v1/exports', { token });
    await response.arrayBuffer();

    expect(response.status).toBe(429);
  });

  it('counts requests without credentials by address', async () => {
    const client = '198.51.100.20';
    const statuses: number[] = [];
    for (let index = 0; index <= readLimit; index++) {
      const response = await send(stack.apiUrl, '/v1/files', {
        headers: { 'X-Forwarded-For': client },
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    }

    expect(statuses.slice(0, readLimit).every((status) => status === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });

  it('counts requests with a wrong key by address', async () => {
    const client = '198.51.100.21';
    const statuses: number[] = [];
    for (let index = 0; index <= readLimit; index++) {
      const headers = { 'X-Forwarded-For': client };
      const response = await send(stack.apiUrl, '/v1/files', { key: `exk_wrong${index}`, headers });
      await response.arrayBuffer();
      statuses.push(response.status);
    }

    expect(statuses.at(-1)).toBe(429);
  });
});

describe('create budget', () => {
  beforeAll(async () => {
    await waitForRoomInWindow(windowSeconds, 30_000);
  });

  it('returns 429 past the limit', async () => {
    const key = await newOwnerKey();
    // Each export of a missing file fails at once, so the active limit stays out of the way.
    for (let index = 0; index < createLimit; index++) {
      const created = await createExportAs(stack.apiUrl, key, [missingFile]);
      await waitForEndAs(stack.apiUrl, key, created.jobId);
    }
    const response = await send(stack.apiUrl, '/v1/export', {
      method: 'POST',
      key,
      body: { file_ids: [missingFile] },
    });
    const error = await readError(response);

    expect(response.status).toBe(429);
    expect(error.code).toBe('rate_limited');
    expect(response.headers.get('ratelimit-limit')).toBe(String(createLimit));
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('is shared by every create route', async () => {
    const key = await newOwnerKey();
    const statuses: number[] = [];
    for (let index = 0; index < createLimit; index++) {
      const path = index % 2 === 0 ? '/v1/export' : '/v1/download/initiate';
      const response = await send(stack.apiUrl, path, {
        method: 'POST',
        key,
        body: { file_ids: [missingFile] },
      });
      const { jobId } = (await response.json()) as { jobId: string };
      await waitForEndAs(stack.apiUrl, key, jobId);
      statuses.push(response.status);
    }
    const response = await send(stack.apiUrl, '/v1/download/start', {
      method: 'POST',
      key,
      body: { file_id: missingFile },
    });
    await response.arrayBuffer();

    expect(statuses).toEqual([202, 200, 202, 200]);
    expect(response.status).toBe(429);
  });
});

describe('active exports', () => {
  it('returns 429 past the limit', async () => {
    const key = await newOwnerKey();
    const gate = holdSourceLookups(stack.service.services.deps.store);
    try {
      for (let index = 0; index < maxActive; index++) {
        await createExportAs(stack.apiUrl, key, [missingFile]);
      }
      const response = await send(stack.apiUrl, '/v1/export', {
        method: 'POST',
        key,
        body: { file_ids: [missingFile] },
      });
      const error = await readError(response);

      expect(response.status).toBe(429);
      expect(error.code).toBe('too_many_active_exports');
      expect(error.message).toContain(String(maxActive));
      expect(response.headers.get('retry-after')).toBe('10');
    } finally {
      gate.release();
    }
  });

  it('frees a slot on cancel', async () => {
    const key = await newOwnerKey();
    const gate = holdSourceLookups(stack.service.services.deps.store);
    try {
      const first = await createExportAs(stack.apiUrl, key, [missingFile]);
      await createExportAs(stack.apiUrl, key, [missingFile]);
      const cancelled = await send(stack.apiUrl, `/v1/export/${first.jobId}`, {
        method: 'DELETE',
        key,
      });
      await cancelled.arrayBuffer();
      const response = await send(stack.apiUrl, '/v1/export', {
        method: 'POST',
        key,
        body: { file_ids: [missingFile], join: false },
      });
      await response.arrayBuffer();

      expect(cancelled.status).toBe(200);
      expect(response.status).toBe(202);
    } finally {
      gate.release();
    }
  });

  it('keeps owners apart', async () => {
    const busy = await newOwnerKey();
    const other = await newOwnerKey();
    const gate = holdSourceLookups(stack.service.services.deps.store);
    try {
      for (let index = 0; index < maxActive; index++) {
        await createExportAs(stack.apiUrl, busy, [missingFile]);
      }
      const response = await send(stack.apiUrl, '/v1/export', {
        method: 'POST',
        key: other,
        body: { file_ids: [missingFile], join: false },
      });
      await response.arrayBuffer();

      expect(response.status).toBe(202);
    } finally {
      gate.release();
    }
  });
});

describe('files per export', () => {
  const tooMany = [84_101, 84_102, 84_103, 84_104];

  it('rejects one file over the limit', async () => {
    const key = await newOwnerKey();
    const response = await send(stack.apiUrl, '/v1/export', {
      method: 'POST',
      key,
      body: { file_ids: tooMany },
    });
    const error = await readError(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('too_many_files');
    expect(error.field).toBe('file_ids');
    expect(error.message).toContain(`limit is ${maxFiles}`);
  });

  it('rejects it on the legacy API', async () => {
    const key = await newOwnerKey();
    const response = await send(stack.apiUrl, '/v1/download/initiate', {
      method: 'POST',
      key,
      body: { file_ids: tooMany },
    });
    const error = await readError(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('too_many_files');
  });

  it('counts distinct ids only', async () => {
    const key = await newOwnerKey();
    const fileIds = [...tooMany.slice(0, maxFiles), ...tooMany.slice(0, maxFiles)];
    const created = await createExportAs(stack.apiUrl, key, fileIds);

    expect(created.status).toBe('queued');
  });
});

describe('bytes per export', () => {
  it('fails an export just over the limit', async () => {
    const key = await newOwnerKey();
    const created = await createExportAs(stack.apiUrl, key, [...halfLimitFiles, oneByteFile]);
    const final = await waitForEndAs(stack.apiUrl, key, created.jobId);

    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe('export_too_large');
    expect(final.error?.message).toContain(String(maxExportBytes));
    expect(final.error?.message).toContain('MAX_EXPORT_MIB');
    expect(final.attempt).toBe(1);
  });

  it('builds an export at the limit', async () => {
    const key = await newOwnerKey();
    const created = await createExportAs(stack.apiUrl, key, [...halfLimitFiles, missingFile]);
    const final = await waitForEndAs(stack.apiUrl, key, created.jobId);

    expect(final.status).toBe('completed');
    expect(final.zip?.size).toBeGreaterThan(maxExportBytes);
  });
});
