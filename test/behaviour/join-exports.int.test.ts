import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { delay, waitFor, waitForEnd } from '../support/api.js';
import { generousLimits } from '../support/generous-limits.js';
import { holdCalls } from '../support/hold-calls.js';
import { holdSourceReads, type ReadGate } from '../support/hold-reads.js';
import { type RunningService, startService } from '../support/service.js';

/** The body of a 202 from POST /v1/export. */
interface Accepted {
  jobId: string;
  status: string;
  totalFileIds: number;
  joined?: boolean;
}

const fileIds = [94_001, 94_002, 94_003];

let service: RunningService;

beforeAll(async () => {
  service = await startService({ env: generousLimits });
  for (const fileId of fileIds) await service.putSource(fileId, randomBytes(2_000));
});

afterAll(async () => {
  await service?.stop();
});

describe('identical request while running', () => {
  let gate: ReadGate;
  let first: Accepted;

  beforeAll(async () => {
    gate = holdSourceReads(service.services.deps.store);
    first = await postExport({ file_ids: fileIds });
    await gate.reached;
  });

  afterAll(async () => {
    gate?.release();
    gate?.restore();
  });

  it('joins the running export', async () => {
    const twin = await postExport({ file_ids: fileIds });

    expect(twin.jobId).toBe(first.jobId);
    expect(twin.joined).toBe(true);
  });

  it('reports the running status', async () => {
    const twin = await postExport({ file_ids: fileIds });

    expect(twin.status).toBe('processing');
    expect(twin.totalFileIds).toBe(fileIds.length);
  });

  it('joins ids in another order', async () => {
    const twin = await postExport({ file_ids: [...fileIds].reverse(), join: true });

    expect(twin.jobId).toBe(first.jobId);
  });

  it('joins ids with duplicates', async () => {
    const twin = await postExport({ file_ids: [fileIds[2], ...fileIds, fileIds[0]] });

    expect(twin.jobId).toBe(first.jobId);
  });

  it('leaves the first unjoined', () => {
    expect(first.joined).toBeUndefined();
  });

  it('starts anew with join false', async () => {
    const separate = await postExport({ file_ids: fileIds, join: false });

    expect(separate.jobId).not.toBe(first.jobId);
    expect(separate.joined).toBeUndefined();
  });

  it('starts anew for a subset', async () => {
    const subset = await postExport({ file_ids: fileIds.slice(1) });

    expect(subset.jobId).not.toBe(first.jobId);
  });
});

describe('identical request after the end', () => {
  const pair = [94_001, 94_002];
  let first: Accepted;
  let later: Accepted;

  beforeAll(async () => {
    first = await postExport({ file_ids: pair });
    await waitForEnd(service.url, first.jobId);
    later = await postExport({ file_ids: [...pair].reverse() });
  });

  it('starts a new export', () => {
    expect(later.jobId).not.toBe(first.jobId);
    expect(later.joined).toBeUndefined();
  });

  it('joins the new export next', async () => {
    const twin = await postExport({ file_ids: pair });

    expect(twin.jobId).toBe(later.jobId);
  });
});

describe('identical request after a cancel', () => {
  it('starts a new export', async () => {
    const gate = holdSourceReads(service.services.deps.store);
    try {
      const first = await postExport({ file_ids: [94_003] });
      await gate.reached;
      const cancel = await fetch(`${service.url}/v1/export/${first.jobId}`, { method: 'DELETE' });
      await cancel.body?.cancel();
      const later = await postExport({ file_ids: [94_003] });

      expect(cancel.status).toBe(200);
      expect(later.jobId).not.toBe(first.jobId);
      expect(later.joined).toBeUndefined();
    } finally {
      gate.release();
      gate.restore();
    }
  });
});

describe('identical request while the first starts', () => {
  // The second request waits up to a second for the first one's record, so a first request
  // that stores it within that time is joined.
  it('joins the first', async () => {
    const ids = [94_001, 94_003];
    const gate = holdCalls(service.services.deps.records, 'create');
    let first: Promise<Accepted>;
    let second: Promise<Accepted>;
    try {
      first = postExport({ file_ids: ids });
      await gate.reached;
      second = postExport({ file_ids: ids });
      await delay(200);
    } finally {
      gate.release();
      gate.restore();
    }

    expect((await second).jobId).toBe((await first).jobId);
    expect((await second).joined).toBe(true);
  });
});

async function postExport(body: unknown): Promise<Accepted> {
  const response = await fetch(`${service.url}/v1/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 202) {
    throw new Error(`POST /v1/export returned ${response.status}, expected 202: ${text}`);
  }

  return JSON.parse(text) as Accepted;
}
