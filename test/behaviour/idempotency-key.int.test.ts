import { randomBytes, randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { RedisApiKeys } from '../../infra/redis/api-keys.js';
import { BackendUnavailableError } from '../../runtime/contract/errors.js';
import { readError } from '../support/error-body.js';
import { generousLimits } from '../support/generous-limits.js';
import { holdCalls } from '../support/hold-calls.js';
import { type RunningService, startService } from '../support/service.js';

/** The body of a 202 from POST /v1/export. */
interface Accepted {
  jobId: string;
  status: string;
  joined?: boolean;
}

const body = { file_ids: [70_001, 70_002], join: false };

let service: RunningService;

beforeAll(async () => {
  // No worker: the exports stay queued, which is all these tests need.
  service = await startService({
    worker: false,
    env: generousLimits,
  });
});

afterAll(async () => {
  await service?.stop();
});

describe('Idempotency-Key replay', () => {
  const key = newKey();
  let first: Response;
  let firstBody: Accepted;
  let replay: Response;
  let replayBody: Accepted;

  beforeAll(async () => {
    first = await postExport(body, key);
    firstBody = (await first.json()) as Accepted;
    replay = await postExport(body, key);
    replayBody = (await replay.json()) as Accepted;
  });

  it('accepts the first request', () => {
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
  });

  it('returns the same job', () => {
    expect(replay.status).toBe(202);
    expect(replayBody.jobId).toBe(firstBody.jobId);
  });

  it('returns the same body', () => {
    expect(replayBody).toEqual(firstBody);
  });

  it('returns the same Location', () => {
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
  });

  it('marks the replay', () => {
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('creates one export', async () => {
    const listed = await listExportIds();

    expect(listed.filter((id) => id === firstBody.jobId)).toHaveLength(1);
  });

  it('rejects another body', async () => {
    const response = await postExport({ ...body, file_ids: [70_003] }, key);
    const error = await readError(response);

    expect(response.status).toBe(422);
    expect(error.code).toBe('idempotency_key_reused');
    expect(error.field).toBe('Idempotency-Key');
    expect(error.message).toMatch(/Idempotency-Key/);
  });

  it('rejects another join flag', async () => {
    const response = await postExport({ ...body, join: true }, key);
    const error = await readError(response);

    expect(response.status).toBe(422);
    expect(error.code).toBe('idempotency_key_reused');
  });
});

describe('Idempotency-Key in flight', () => {
  const key = newKey();
  let conflict: Response;
  let first: Response;
  let afterwards: Response;

  beforeAll(async () => {
    const gate = holdCalls(service.services.deps.records, 'create');
    try {
      const pending = postExport(body, key);
      await gate.reached;
      conflict = await postExport(body, key);
      gate.release();
      first = await pending;
    } finally {
      gate.release();
      gate.restore();
    }
    afterwards = await postExport(body, key);
  });

  it('returns 409 meanwhile', async () => {
    const error = await readError(conflict.clone());

    expect(conflict.status).toBe(409);
    expect(error.code).toBe('request_in_progress');
    expect(error.field).toBe('Idempotency-Key');
  });

  it('sends Retry-After', () => {
    expect(conflict.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  });

  it('finishes the first request', () => {
    expect(first.status).toBe(202);
  });

  it('replays once it finishes', async () => {
    const firstBody = (await first.json()) as Accepted;
    const replayBody = (await afterwards.json()) as Accepted;

    expect(afterwards.status).toBe(202);
    expect(replayBody.jobId).toBe(firstBody.jobId);
    expect(afterwards.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('Idempotency-Key after a failure', () => {
  it('frees the key', async () => {
    const key = newKey();
    const outage = new BackendUnavailableError('redis', 'Injected Redis outage');
    const create = vi.spyOn(service.services.deps.records, 'create').mockRejectedValueOnce(outage);

    let failed: Response;
    try {
      failed = await postExport(body, key);
      await failed.body?.cancel();
    } finally {
      create.mockRestore();
    }
    const retried = await postExport(body, key);
    await retried.body?.cancel();

    expect(failed.status).toBe(503);
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('Idempotency-Key scope', () => {
  it('separates keys', async () => {
    const first = (await (await postExport(body, newKey())).json()) as Accepted;
    const second = (await (await postExport(body, newKey())).json()) as Accepted;

    expect(second.jobId).not.toBe(first.jobId);
  });

  it('works without a key', async () => {
    const first = (await (await postExport(body)).json()) as Accepted;
    const second = (await (await postExport(body)).json()) as Accepted;

    expect(second.jobId).not.toBe(first.jobId);
  });
});

describe('Idempotency-Key owners', () => {
  let secured: RunningService;
  let redis: Redis;
  let aliceKey: string;
  let bobKey: string;

  beforeAll(async () => {
    secured = await startService({
      testServices: service.testServices,
      worker: false,
      env: {
        ...generousLimits,
        AUTH_ENABLED: 'true',
        READ_TOKEN_SECRET: randomBytes(32).toString('hex'),
      },
    });
    redis = new Redis(secured.testServices.redisUrl, { maxRetriesPerRequest: 1 });
    const apiKeys = new RedisApiKeys(redis, secured.config.redisPrefix);
    aliceKey = await apiKeys.create('alice');
    bobKey = await apiKeys.create('bob');
  });

  afterAll(async () => {
    redis?.disconnect();
    await secured?.stop();
  });

  it('separates owners', async () => {
    const key = newKey();
    const as = (apiKey: string) => ({ url: secured.url, apiKey });

    const alice = await postExport(body, key, as(aliceKey));
    const bob = await postExport(body, key, as(bobKey));
    const aliceAgain = await postExport(body, key, as(aliceKey));
    const [aliceBody, bobBody, aliceAgainBody] = (await Promise.all(
      [alice, bob, aliceAgain].map((response) => response.json()),
    )) as Accepted[];

    expect(bob.status).toBe(202);
    expect(bobBody!.jobId).not.toBe(aliceBody!.jobId);
    expect(bob.headers.get('idempotent-replayed')).toBeNull();
    expect(aliceAgainBody!.jobId).toBe(aliceBody!.jobId);
  });
});

describe('Idempotency-Key validation', () => {
  it.each([
    ['a space', 'two words'],
    ['a tab', 'tab\there'],
    ['an empty value', ''],
    ['201 characters', 'k'.repeat(201)],
    ['a non-ASCII letter', 'cl\u00e9'],
  ])('rejects %s', async (_name, key) => {
    const response = await postExport(body, key);
    const error = await readError(response);

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('idempotency-key');
  });

  it('accepts 200 characters', async () => {
    const response = await postExport(body, `${randomUUID()}${'~'.repeat(164)}`);
    await response.body?.cancel();

    expect(response.status).toBe(202);
  });
});

/** Where to send a request and, with authentication on, as whom. */
interface Sender {
  url: string;
  apiKey?: string;
}

function postExport(requestBody: unknown, key?: string, sender?: Sender): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (key !== undefined) headers['Idempotency-Key'] = key;
  if (sender?.apiKey !== undefined) headers.Authorization = `Bearer ${sender.apiKey}`;

  return fetch(`${sender?.url ?? service.url}/v1/export`, {
    method: 'POST',
    headers,
    body: JSON.stringify(requestBody),
  });
}

async function listExportIds(): Promise<string[]> {
  const response = await fetch(`${service.url}/v1/exports?limit=100`);
  const page = (await response.json()) as { exports: Array<{ jobId: string }> };

  return page.exports.map((snapshot) => snapshot.jobId);
}

function newKey(): string {
  return `test-${randomUUID()}`;
}
