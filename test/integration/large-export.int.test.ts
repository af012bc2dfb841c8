import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, getSnapshot } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.js';
import { readSse, type SnapshotFrame } from '../support/sse.js';
import { download, readZipEntries, sha256 } from '../support/zip.js';

const MiB = 1024 * 1024;

/** Four sources of 4.5 MiB make an 18 MiB zip: four parts of at most 5 MiB. */
const sources = [80_001, 80_002, 80_003, 80_004].map((fileId) => ({
  fileId,
  bytes: randomBytes(4.5 * MiB),
}));
const totalBytes = sources.reduce((sum, source) => sum + source.bytes.length, 0);

let testServices: TestServices;
let proxy: S3Proxy;
let service: RunningService;
let exportId: string;
let frames: SnapshotFrame[];
let final: ExportSnapshot;

beforeAll(async () => {
  testServices = await startTestServices();
  proxy = await startS3Proxy({ target: testServices.s3.endpoint });
  // The worker talks to S3 through the proxy, which counts parts. Presigned URLs are signed
  // for the emulator itself, the address a browser would reach.
  service = await startService({
    testServices,
    env: {
      S3_ENDPOINT: proxy.endpoint,
      S3_PUBLIC_ENDPOINT: testServices.s3.endpoint,
      UPLOAD_MEMORY_BUDGET_MIB: '10',
    },
  });
  for (const source of sources) await service.putSource(source.fileId, source.bytes);

  const { body } = await createExport(service.url, sources.map((source) => source.fileId));
  exportId = body.jobId;
  ({ frames } = await readSse(`${service.url}${body.progressUrl}`, { timeoutMs: 60_000 }));
  final = await getSnapshot(service.url, body.statusUrl);
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await proxy?.stop();
  await testServices?.stop();
});

describe('large export', () => {
  it('completes', () => {
    expect(final.status).toBe('completed');
    expect(final.progress.bytesDone).toBe(totalBytes);
    expect(final.zip?.size).toBeGreaterThan(16 * MiB);
  });

  it('uploads three or more parts', () => {
    const parts = zipRequests().filter((request) => request.query.has('partNumber'));

    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.every((part) => part.method === 'PUT')).toBe(true);
    expect(parts.every((part) => part.status === 200)).toBe(true);
  });

  it('opens and completes one upload', () => {
    const opened = zipRequests().filter((r) => r.method === 'POST' && r.query.has('uploads'));
    const completed = zipRequests().filter((r) => r.method === 'POST' && r.query.has('uploadId'));

    expect(opened).toHaveLength(1);
    expect(completed).toHaveLength(1);
  });

  it('sends three or more progress frames', () => {
    const progress = frames.filter((frame) => frame.event === 'progress');

    expect(progress.length).toBeGreaterThanOrEqual(3);
  });

  it('never moves progress backwards', () => {
    for (let index = 1; index < frames.length; index++) {
      const before = frames[index - 1]!.data.progress;
      const after = frames[index]!.data.progress;

      expect(after.bytesDone).toBeGreaterThanOrEqual(before.bytesDone);
      expect(after.percent).toBeGreaterThanOrEqual(before.percent);
    }
  });

  it('keeps every byte of every source', async () => {
    const zip = await download(final.downloadUrl ?? 'missing downloadUrl');
    const entries = await readZipEntries(zip.body);

    expect(zip.status).toBe(200);
    expect(sha256(zip.body)).toBe(final.zip?.sha256);
    expect(entries).toHaveLength(sources.length);
    for (const source of sources) {
      const entry = entries.find((candidate) => candidate.comment === `file_id=${source.fileId}`);
      expect(sha256(entry?.bytes ?? Buffer.alloc(0))).toBe(sha256(source.bytes));
    }
  });
});

/** Returns the requests for this export's zip object. */
function zipRequests() {
  return proxy.requests.filter((request) => request.path === `/exports/exports/${exportId}.zip`);
}
