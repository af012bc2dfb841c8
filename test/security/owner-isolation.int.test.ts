/**
 * Owner isolation with authentication on: every endpoint that takes an export id returns 404
 * for another owner's export, with an API key or a read token, and the multiplexed stream sends
 * a `not_found` frame. The owner's own requests succeed, so each 404 comes from the owner check.
 */
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { readSse } from '../support/sse.js';
import {
  createExportAs,
  type CreatedExport,
  holdSourceLookups,
  type LookupGate,
  readError,
  type SecureStack,
  send,
  type SendOptions,
  startSecureStack,
  waitForEndAs,
} from './secure-stack.js';

const presentFile = 82_001;
const heldFile = 82_002;
const missingFile = 82_999;

let stack: SecureStack;
let aliceKey: string;
let bobKey: string;
let bobOwnerToken: string;
/** Alice's exports: one completed, one failed and one held in its preflight. */
let completed: CreatedExport;
let failed: CreatedExport;
let running: CreatedExport;
let preflightGate: LookupGate;

beforeAll(async () => {
  stack = await startSecureStack();
  aliceKey = await stack.createKey('alice');
  bobKey = await stack.createKey('bob');
  await stack.service.putSource(presentFile, randomBytes(4_096), 'present.bin');
  await stack.service.putSource(heldFile, randomBytes(4_096), 'held.bin');

  completed = await createExportAs(stack.apiUrl, aliceKey, [presentFile]);
  failed = await createExportAs(stack.apiUrl, aliceKey, [missingFile]);
  await waitForEndAs(stack.apiUrl, aliceKey, completed.jobId);
  await waitForEndAs(stack.apiUrl, aliceKey, failed.jobId);

  // The next preflight waits at the gate, so this export stays running until the end.
  preflightGate = holdSourceLookups(stack.service.services.deps.store);
  running = await createExportAs(stack.apiUrl, aliceKey, [heldFile]);
  await preflightGate.reached;

  const issued = await send(stack.apiUrl, '/v1/tokens', { method: 'POST', key: bobKey });
  bobOwnerToken = ((await issued.json()) as { token: string }).token;
});

afterAll(async () => {
  preflightGate?.release();
  await stack?.stop();
});

/** An endpoint that takes an export id, and which of Alice's exports it is tried on. */
type Endpoint = [string, string, () => CreatedExport];

const readEndpoints: Endpoint[] = [
  ['GET', '/v1/export/:id', () => completed],
  ['GET', '/v1/export/:id/progress', () => completed],
  ['GET', '/v1/export/:id/download', () => completed],
  ['GET', '/v1/download/status/:id', () => completed],
  ['GET', '/v1/download/subscribe/:id', () => completed],
];

const writeEndpoints: Endpoint[] = [
  ['DELETE', '/v1/export/:id', () => running],
  ['POST', '/v1/export/:id/retry', () => failed],
];

function pathOf(template: string, exportId: string): string {
  return template.replace(':id', exportId);
}

async function statusOf(method: string, path: string, options: SendOptions): Promise<number> {
  const response = await send(stack.apiUrl, path, { method, ...options });
  await response.body?.cancel();

  return response.status;
}

describe('another owner with an API key', () => {
  it.each([...readEndpoints, ...writeEndpoints])(
    '%s %s returns 404',
    async (method, template, target) => {
      const response = await send(stack.apiUrl, pathOf(template, target().jobId), {
        method,
        key: bobKey,
      });
      const error = await readError(response);

      expect(response.status).toBe(404);
      expect(error.code).toBe('not_found');
    },
  );

  it('leaves the running export running', async () => {
    await statusOf('DELETE', `/v1/export/${running.jobId}`, { key: bobKey });
    const response = await send(stack.apiUrl, `/v1/export/${running.jobId}`, { key: aliceKey });
    const snapshot = (await response.json()) as ExportSnapshot;

    expect(snapshot.status).toBe('processing');
  });

  it('gets a not_found frame', async () => {
    const url = new URL(`/v1/exports/progress?ids=${completed.jobId}`, stack.apiUrl);
    const { status, frames } = await readSse(url.href, {
      headers: { Authorization: `Bearer ${bobKey}` },
    });

    expect(status).toBe(200);
    expect(frames.map((frame) => frame.event)).toEqual(['not_found']);
  });

  it('does not list the exports', async () => {
    const response = await send(stack.apiUrl, '/v1/exports', { key: bobKey });
    const { exports } = (await response.json()) as { exports: Array<{ jobId: string }> };

    expect(response.status).toBe(200);
    expect(exports).toEqual([]);
  });

  it('does not join a running export', async () => {
    const created = await createExportAs(stack.apiUrl, bobKey, [heldFile], { join: true });

    expect(created.jobId).not.toBe(running.jobId);
    expect(created.joined).toBeUndefined();
  });

  it('does not replay an idempotency key', async () => {
    const headers = { 'Idempotency-Key': `shared-${randomBytes(4).toString('hex')}` };
    const first = await createExportAs(stack.apiUrl, aliceKey, [missingFile], { headers });
    const second = await createExportAs(stack.apiUrl, bobKey, [missingFile], { headers });

    expect(second.jobId).not.toBe(first.jobId);
    expect(second.readToken).not.toBe(first.readToken);
  });
});

describe('another owner with a read token', () => {
  it.each(readEndpoints)('%s %s returns 404', async (method, template, target) => {
    const path = pathOf(template, target().jobId);

    expect(await statusOf(method, path, { token: bobOwnerToken })).toBe(404);
  });

  it('gets a not_found frame', async () => {
    const url = new URL(`/v1/exports/progress`, stack.apiUrl);
    url.searchParams.set('ids', `${completed.jobId},${running.jobId}`);
    url.searchParams.set('token', bobOwnerToken);
    const { frames } = await readSse(url.href);

    expect(frames.map((frame) => frame.event)).toEqual(['not_found', 'not_found']);
  });
});

describe('the owner', () => {
  it.each(readEndpoints)('%s %s succeeds', async (method, template, target) => {
    const status = await statusOf(method, pathOf(template, target().jobId), { key: aliceKey });

    expect([200, 302]).toContain(status);
  });

  it('retries the failed export', async () => {
    expect(await statusOf('POST', `/v1/export/${failed.jobId}/retry`, { key: aliceKey })).toBe(202);
  });

  it('gets its frames on the multiplexed stream', async () => {
    const url = new URL(`/v1/exports/progress?ids=${completed.jobId}`, stack.apiUrl);
    const { frames } = await readSse(url.href, {
      headers: { Authorization: `Bearer ${aliceKey}` },
    });

    expect(frames.map((frame) => frame.event)).toEqual(['completed']);
  });

  it('lists its exports', async () => {
    const response = await send(stack.apiUrl, '/v1/exports', { key: aliceKey });
    const { exports } = (await response.json()) as { exports: Array<{ jobId: string }> };
    const ids = exports.map((entry) => entry.jobId);

    expect(ids).toContain(completed.jobId);
    expect(ids).toContain(running.jobId);
  });

  // Last, because it ends the held export.
  it('cancels the running export', async () => {
    expect(await statusOf('DELETE', `/v1/export/${running.jobId}`, { key: aliceKey })).toBe(200);
  });
});
