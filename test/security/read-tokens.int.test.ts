/**
 * The scope of read tokens with authentication on: an export's token reads that export on
 * every read endpoint, in the query or in X-Read-Token, and nothing else. Another export's id
 * returns 404, writes return 403, and a tampered, forged or expired token returns 401.
 */
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ReadTokens } from '../../runtime/hosts/http/read-tokens.js';
import { readSse } from '../support/sse.js';
import {
  createExportAs,
  type CreatedExport,
  readError,
  type SecureStack,
  send,
  type SendOptions,
  startSecureStack,
  waitForEndAs,
} from './secure-stack.js';

const firstFile = 83_001;
const secondFile = 83_002;

let stack: SecureStack;
let key: string;
let first: CreatedExport;
let second: CreatedExport;
let ownerToken: string;

beforeAll(async () => {
  stack = await startSecureStack();
  key = await stack.createKey('carol');
  await stack.service.putSource(firstFile, randomBytes(4_096), 'first.bin');
  await stack.service.putSource(secondFile, randomBytes(4_096), 'second.bin');

  first = await createExportAs(stack.apiUrl, key, [firstFile]);
  second = await createExportAs(stack.apiUrl, key, [secondFile]);
  await waitForEndAs(stack.apiUrl, key, first.jobId);
  await waitForEndAs(stack.apiUrl, key, second.jobId);

  const issued = await send(stack.apiUrl, '/v1/tokens', { method: 'POST', key });
  ownerToken = ((await issued.json()) as { token: string }).token;
});

afterAll(async () => {
  await stack?.stop();
});

const readPaths = [
  '/v1/export/:id',
  '/v1/export/:id/progress',
  '/v1/export/:id/download',
  '/v1/download/status/:id',
  '/v1/download/subscribe/:id',
];

async function statusOf(path: string, options: SendOptions): Promise<number> {
  const response = await send(stack.apiUrl, path, options);
  await response.body?.cancel();

  return response.status;
}

function readPath(template: string, exportId: string): string {
  return template.replace(':id', exportId);
}

describe('export token', () => {
  it.each(readPaths)('reads %s in the query', async (template) => {
    const status = await statusOf(readPath(template, first.jobId), { token: first.readToken });

    expect([200, 302]).toContain(status);
  });

  it.each(readPaths)('reads %s in X-Read-Token', async (template) => {
    const options: SendOptions = { token: first.readToken, tokenIn: 'header' };

    expect([200, 302]).toContain(await statusOf(readPath(template, first.jobId), options));
  });

  it('streams the export with ?token=', async () => {
    const url = new URL(first.progressUrl, stack.apiUrl);
    url.searchParams.set('token', first.readToken);
    const { status, frames } = await readSse(url.href);

    expect(status).toBe(200);
    expect(frames.at(-1)?.event).toBe('completed');
  });

  it.each(readPaths)('returns 404 on %s of another export', async (template) => {
    const path = readPath(template, second.jobId);

    expect(await statusOf(path, { token: first.readToken })).toBe(404);
  });

  it('expires with the record', async () => {
    const snapshot = (await (await send(stack.apiUrl, first.statusUrl, { key })).json()) as {
      createdAt: string;
    };
    const payload = first.readToken.split('.')[1]!;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { x: number };
    const recordExpiry =
      Date.parse(snapshot.createdAt) + stack.service.config.recordRetentionSeconds * 1000;

    expect(claims.x).toBe(Math.floor(recordExpiry / 1000));
  });

  it('returns 403 on the export list', async () => {
    const response = await send(stack.apiUrl, '/v1/exports', { token: first.readToken });
    const error = await readError(response);

    expect(response.status).toBe(403);
    expect(error.code).toBe('forbidden');
  });

  it('returns 403 on the multiplexed stream', async () => {
    const path = `/v1/exports/progress?ids=${first.jobId}`;

    expect(await statusOf(path, { token: first.readToken })).toBe(403);
  });
});

describe('writes with a token', () => {
  const writes: Array<[string, string, unknown]> = [
    ['DELETE', '/v1/export/:id', undefined],
    ['POST', '/v1/export/:id/retry', undefined],
    ['POST', '/v1/export', { file_ids: [firstFile] }],
    ['POST', '/v1/tokens', undefined],
    ['POST', '/v1/download/initiate', { file_ids: [firstFile] }],
    ['POST', '/v1/download/check', { file_id: firstFile }],
    ['POST', '/v1/download/start', { file_id: firstFile }],
    ['GET', '/v1/files', undefined],
  ];

  it.each(writes)('%s %s returns 403 for an export token', async (method, template, body) => {
    const path = readPath(template, first.jobId);
    const response = await send(stack.apiUrl, path, { method, body, token: first.readToken });
    const error = await readError(response);

    expect(response.status).toBe(403);
    expect(error.code).toBe('forbidden');
  });

  it.each(writes)('%s %s returns 403 for an owner token', async (method, template, body) => {
    const path = readPath(template, first.jobId);
    const response = await send(stack.apiUrl, path, { method, body, token: ownerToken });
    await response.body?.cancel();

    expect(response.status).toBe(403);
  });
});

describe('owner token', () => {
  it('lists the exports', async () => {
    const response = await send(stack.apiUrl, '/v1/exports', { token: ownerToken });
    const { exports } = (await response.json()) as { exports: Array<{ jobId: string }> };

    expect(response.status).toBe(200);
    expect(exports.map((entry) => entry.jobId).sort()).toEqual([first.jobId, second.jobId].sort());
  });

  it('follows both exports on one stream', async () => {
    const url = new URL('/v1/exports/progress', stack.apiUrl);
    url.searchParams.set('ids', `${first.jobId},${second.jobId}`);
    url.searchParams.set('token', ownerToken);
    const { frames } = await readSse(url.href);

    expect(frames.map((frame) => frame.event)).toEqual(['completed', 'completed']);
  });

  it.each(readPaths)('reads %s of every export', async (template) => {
    expect([200, 302]).toContain(
      await statusOf(readPath(template, second.jobId), { token: ownerToken }),
    );
  });
});

describe('invalid tokens', () => {
  /** Flips one character of `text` at `index` to another base64url character. */
  function flip(text: string, index: number): string {
    const replacement = text[index] === 'A' ? 'B' : 'A';

    return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
  }

  function tamperedTokens(): Array<[string, string]> {
    const [prefix, payload, mac] = first.readToken.split('.') as [string, string, string];
    const otherPayload = Buffer.from(JSON.stringify({ o: 'carol', x: 4_102_444_800 })).toString(
      'base64url',
    );

    return [
      ['a changed payload', `${prefix}.${flip(payload, 3)}.${mac}`],
      ['a changed signature', `${prefix}.${payload}.${flip(mac, 5)}`],
      ['a swapped payload', `${prefix}.${otherPayload}.${mac}`],
      ['no signature', `${prefix}.${payload}`],
      ['another version', `rt2.${payload}.${mac}`],
      ['garbage', 'not-a-token'],
    ];
  }

  it.each(['query', 'header'] as const)('reject a tampered token in the %s', async (tokenIn) => {
    for (const [name, token] of tamperedTokens()) {
      const response = await send(stack.apiUrl, first.statusUrl, { token, tokenIn });
      await response.body?.cancel();

      expect(response.status, name).toBe(401);
      expect(response.headers.get('www-authenticate'), name).toMatch(/^Bearer /);
    }
  });

  it('rejects a token signed with another secret', async () => {
    const forged = new ReadTokens('another-secret-of-at-least-32-chars!').issue(
      'carol',
      first.jobId,
      Date.now() + 60_000,
    );

    expect(await statusOf(first.statusUrl, { token: forged })).toBe(401);
  });

  it('rejects an expired export token', async () => {
    const tokens = new ReadTokens(stack.readTokenSecret);
    const expired = tokens.issue('carol', first.jobId, Date.now() - 1_000);

    expect(await statusOf(first.statusUrl, { token: expired })).toBe(401);
  });

  it('rejects an expired owner token', async () => {
    const expired = new ReadTokens(stack.readTokenSecret).issue(
      'carol',
      undefined,
      Date.now() - 1_000,
    );

    expect(await statusOf('/v1/exports', { token: expired })).toBe(401);
  });

  it('accepts a token from the same secret', async () => {
    const fresh = new ReadTokens(stack.readTokenSecret).issue(
      'carol',
      first.jobId,
      Date.now() + 60_000,
    );

    expect(await statusOf(first.statusUrl, { token: fresh })).toBe(200);
  });

  it('rejects a token as an API key', async () => {
    const response = await send(stack.apiUrl, first.statusUrl, { key: first.readToken });
    await response.body?.cancel();

    expect(response.status).toBe(401);
  });

  it('rejects a token on a stream', async () => {
    const url = new URL(first.progressUrl, stack.apiUrl);
    url.searchParams.set('token', `${first.readToken}x`);
    const response = await fetch(url, { headers: { Accept: 'text/event-stream' } });
    await response.body?.cancel();

    expect(response.status).toBe(401);
  });
});
