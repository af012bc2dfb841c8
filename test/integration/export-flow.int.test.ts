import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { type CreatedExport, createExport, getSnapshot } from '../support/api.js';
import { holdSourceReads } from '../support/hold-reads.js';
import { type RunningService, startService } from '../support/service.js';
import { openSse, type SnapshotFrame } from '../support/sse.js';
import { readZipEntries, sha256, type ZipEntryContent } from '../support/zip.js';

/** Sources with a repeated name, a non-ASCII name and an empty file. */
const sources = [
  { fileId: 70_001, name: 'report.pdf', bytes: randomBytes(1_500_000) },
  { fileId: 70_002, name: 'Résumé 2024.txt', bytes: randomBytes(300_000) },
  { fileId: 70_003, name: 'report.pdf', bytes: randomBytes(700_000) },
  { fileId: 70_004, name: 'empty.txt', bytes: Buffer.alloc(0) },
];
const sourceIds = sources.map((source) => source.fileId);
const totalBytes = sources.reduce((sum, source) => sum + source.bytes.length, 0);

const routes = [
  {
    label: 'export paths',
    status: (id: string) => `/v1/export/${id}`,
    progress: (id: string) => `/v1/export/${id}/progress`,
  },
  {
    label: 'download aliases',
    status: (id: string) => `/v1/download/status/${id}`,
    progress: (id: string) => `/v1/download/subscribe/${id}`,
  },
];

let service: RunningService;

beforeAll(async () => {
  service = await startService();
  for (const source of sources) {
    await service.putSource(source.fileId, source.bytes, source.name);
  }
});

afterAll(async () => {
  await service?.stop();
});

describe.each(routes)('export over $label', (route) => {
  let response: Response;
  let created: CreatedExport;
  let frames: SnapshotFrame[];
  let final: ExportSnapshot;
  let zip: { status: number; body: Buffer; disposition: string | null };
  let entries: ZipEntryContent[];

  beforeAll(async () => {
    // The reads wait until the stream has sent its first frame, so that frame is a live one.
    const readGate = holdSourceReads(service.services.deps.store);
    try {
      ({ response, body: created } = await createExport(service.url, [...sourceIds, 70_001]));
      frames = await followWhileReleasing(route.progress(created.jobId), readGate.release);
    } finally {
      readGate.release();
      readGate.restore();
    }

    final = await getSnapshot(service.url, route.status(created.jobId));
    const zipResponse = await fetch(final.downloadUrl ?? 'missing downloadUrl');
    const body = Buffer.from(await zipResponse.arrayBuffer());
    const disposition = zipResponse.headers.get('content-disposition');
    zip = { status: zipResponse.status, body, disposition };
    entries = await readZipEntries(zip.body);
  });

  it('answers 202 with Location', () => {
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/v1/export/${created.jobId}`);
    expect(created.statusUrl).toBe(`/v1/export/${created.jobId}`);
    expect(created.progressUrl).toBe(`/v1/export/${created.jobId}/progress`);
  });

  it('counts distinct ids', () => {
    expect(created.totalFileIds).toBe(sourceIds.length);
    expect(created.status).toBe('queued');
  });

  it('sends the snapshot first', () => {
    const first = frames[0]!;

    expect(first.event).toBe('snapshot');
    expect(first.id).toBe(String(first.data.version));
    expect(first.data.jobId).toBe(created.jobId);
    expect(['queued', 'processing']).toContain(first.data.status);
  });

  it('never moves progress backwards', () => {
    for (let index = 1; index < frames.length; index++) {
      const before = frames[index - 1]!.data;
      const after = frames[index]!.data;

      expect(after.version).toBeGreaterThan(before.version);
      expect(after.progress.bytesDone).toBeGreaterThanOrEqual(before.progress.bytesDone);
      expect(after.progress.percent).toBeGreaterThanOrEqual(before.progress.percent);
    }
  });

  it('ends with one completed frame', () => {
    const terminal = frames.filter((frame) => ['completed', 'failed'].includes(frame.event ?? ''));

    expect(terminal).toHaveLength(1);
    expect(frames.at(-1)?.event).toBe('completed');
    expect(frames.at(-1)?.id).toBe(String(final.version));
  });

  it('sends live frames as progress', () => {
    const middle = frames.slice(1, -1);

    expect(middle.length).toBeGreaterThan(0);
    expect(middle.every((frame) => frame.event === 'progress')).toBe(true);
  });

  it('reports the final snapshot', () => {
    expect(frames.at(-1)?.data).toEqual(final);
    expect(final.status).toBe('completed');
    expect(final.attempt).toBe(1);
    expect(final.missingFileIds).toEqual([]);
    expect(final.progress).toEqual({
      percent: 100,
      filesDone: sources.length,
      filesTotal: sources.length,
      bytesDone: totalBytes,
      bytesTotal: totalBytes,
    });
  });

  it('serves the zip by presigned URL', () => {
    expect(zip.status).toBe(200);
    expect(zip.disposition).toBe(`attachment; filename="export-${created.jobId}.zip"`);
    expect(final.zip?.fileName).toBe(`export-${created.jobId}.zip`);
  });

  it('matches the reported size and digest', () => {
    expect(zip.body.length).toBe(final.zip?.size);
    expect(sha256(zip.body)).toBe(final.zip?.sha256);
  });

  it('has one entry per source', () => {
    const ids = entries.map((entry) => entry.comment);

    expect(ids.sort()).toEqual(sourceIds.map((id) => `file_id=${id}`).sort());
  });

  it('copies every source byte for byte', () => {
    for (const source of sources) {
      const entry = entries.find((candidate) => candidate.comment === `file_id=${source.fileId}`);

      expect(entry?.bytes.length).toBe(source.bytes.length);
      expect(sha256(entry?.bytes ?? Buffer.alloc(0))).toBe(sha256(source.bytes));
    }
  });

  it('names entries after their sources', () => {
    const names = entries.map((entry) => entry.name);

    expect(names).toEqual(['report.pdf', 'Résumé 2024.txt', 'report (2).pdf', 'empty.txt']);
  });
});

/** Reads the first frame, opens the gate, then reads until the server ends the stream. */
async function followWhileReleasing(path: string, release: () => void): Promise<SnapshotFrame[]> {
  const stream = await openSse(`${service.url}${path}`);
  if (stream.response.status !== 200) {
    const text = await stream.response.text();
    throw new Error(`GET ${path} returned ${stream.response.status}: ${text}`);
  }

  const frames: SnapshotFrame[] = [];
  for await (const frame of stream.frames) {
    frames.push(frame);
    if (frames.length === 1) release();
  }

  return frames;
}
