import { randomBytes } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createExport, getSnapshot, waitForEnd } from '../support/api.js';
import { type ReadGate, holdSourceReads } from '../support/hold-reads.js';
import { type RunningService, startService } from '../support/service.js';
import { openSse, readSse, type SnapshotFrame } from '../support/sse.js';

const fileIds = [91_001, 91_002];

let service: RunningService;
let readGate: ReadGate | undefined;

beforeAll(async () => {
  service = await startService();
  for (const fileId of fileIds) await service.putSource(fileId, randomBytes(500_000));
});

afterEach(() => {
  readGate?.release();
  readGate?.restore();
  readGate = undefined;
});

afterAll(async () => {
  await service?.stop();
});

describe('subscriber after completion', () => {
  it('gets one terminal frame', async () => {
    const { body } = await createExport(service.url, fileIds);
    const final = await waitForEnd(service.url, body.jobId);

    const { status, frames } = await readSse(`${service.url}${body.progressUrl}`);

    expect(status).toBe(200);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.event).toBe('completed');
    expect(frames[0]?.id).toBe(String(final.version));
    expect(frames[0]?.data).toEqual(final);
  });

  it('gets it on the alias path', async () => {
    const { body } = await createExport(service.url, fileIds);
    const final = await waitForEnd(service.url, body.jobId);

    const { frames } = await readSse(`${service.url}/v1/download/subscribe/${body.jobId}`);

    expect(frames.map((frame) => frame.event)).toEqual(['completed']);
    expect(frames[0]?.data).toEqual(final);
  });

  it('gets it after an older Last-Event-ID', async () => {
    const { body } = await createExport(service.url, fileIds);
    const final = await waitForEnd(service.url, body.jobId);
    const headers = { 'Last-Event-ID': String(final.version - 2) };

    const { frames } = await readSse(`${service.url}${body.progressUrl}`, { headers });

    expect(frames.map((frame) => frame.event)).toEqual(['completed']);
    expect(frames[0]?.data).toEqual(final);
  });

  it('gets 204 after the terminal version', async () => {
    const { body } = await createExport(service.url, fileIds);
    const final = await waitForEnd(service.url, body.jobId);
    const headers = { 'Last-Event-ID': String(final.version) };

    const stream = await openSse(`${service.url}${body.progressUrl}`, { headers });

    expect(stream.response.status).toBe(204);
    expect(await stream.response.text()).toBe('');
  });
});

describe('reconnect during an export', () => {
  it('resends the current snapshot', async () => {
    const { current, progressUrl } = await startHeldExport();
    const headers = { 'Last-Event-ID': String(current.version - 1) };

    const stream = await openSse(`${service.url}${progressUrl}`, { headers });
    const first = await stream.frames.next();
    readGate?.release();
    const rest = await collect(stream.frames);

    expect(first.value?.event).toBe('snapshot');
    expect(first.value?.id).toBe(String(current.version));
    expect(first.value?.data).toEqual(current);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.every((frame) => frame.data.version > current.version)).toBe(true);
    expect(rest.at(-1)?.event).toBe('completed');
  });

  it('sends only live frames when up to date', async () => {
    const { current, progressUrl } = await startHeldExport();
    const headers = { 'Last-Event-ID': String(current.version) };

    // The response starts with the first live frame, so the gate opens before it is awaited.
    const opening = openSse(`${service.url}${progressUrl}`, { headers });
    readGate?.release();
    const frames = await collect((await opening).frames);

    expect(frames[0]?.event).toBe('progress');
    expect(frames[0]?.data.version).toBe(current.version + 1);
    expect(frames.at(-1)?.event).toBe('completed');
  });

  it('sends versions in order', async () => {
    const { current, progressUrl } = await startHeldExport();
    const headers = { 'Last-Event-ID': String(current.version - 1) };

    const stream = await openSse(`${service.url}${progressUrl}`, { headers });
    const first = await stream.frames.next();
    readGate?.release();
    const frames = [first.value, ...(await collect(stream.frames))];
    const versions = frames.map((frame) => frame?.data.version);

    expect(versions).toEqual([...versions].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(new Set(versions).size).toBe(versions.length);
  });

  // An id above every version was not sent by this export, so the stream starts afresh.
  it('restarts on a future Last-Event-ID', async () => {
    const { current, progressUrl } = await startHeldExport();
    const headers = { 'Last-Event-ID': String(current.version + 1_000) };

    const opening = openSse(`${service.url}${progressUrl}`, { headers, timeoutMs: 5_000 });
    readGate?.release();
    const final = await waitForEnd(service.url, current.jobId);
    const frames = await collect((await opening).frames);

    expect(final.status).toBe('completed');
    expect(frames[0]?.event).toBe('snapshot');
    expect(frames[0]?.data.version).toBeGreaterThanOrEqual(current.version);
    expect(frames.at(-1)?.event).toBe('completed');
  });
});

/** Starts an export whose source reads wait at a gate, and returns its snapshot at the gate. */
async function startHeldExport() {
  readGate = holdSourceReads(service.services.deps.store);
  const { body } = await createExport(service.url, fileIds);
  await readGate.reached;
  const current = await getSnapshot(service.url, body.statusUrl);

  return { current, progressUrl: body.progressUrl };
}

async function collect(frames: AsyncIterableIterator<SnapshotFrame>): Promise<SnapshotFrame[]> {
  const collected: SnapshotFrame[] = [];
  for await (const frame of frames) collected.push(frame);

  return collected;
}
