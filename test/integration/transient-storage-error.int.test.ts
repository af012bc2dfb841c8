import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, getSnapshot, waitFor, waitForEnd } from '../support/api.js';
import { holdSourceReads } from '../support/hold-reads.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';
import {
  type ProxiedRequest,
  type RequestLine,
  type S3Proxy,
  startS3Proxy,
} from '../support/s3-proxy.js';
import { readSse, type SnapshotFrame } from '../support/sse.js';
import { download, readZipEntries, sha256 } from '../support/zip.js';

const MiB = 1024 * 1024;

/** Two sources of 6 MiB fill a 5 MiB part before the third, failing, source is read. */
const sources = [93_001, 93_002, 93_003].map((fileId) => ({ fileId, bytes: randomBytes(6 * MiB) }));
const failingKey = `/downloads/downloads/${sources[2]!.fileId}.zip`;

/**
 * 503s for the first matching requests. The AWS SDK v3 makes 3 attempts per call in its default
 * standard retry mode, so 4 failures use up the first job attempt and the job must retry.
 */
const injectedFailures = 4;

let testServices: TestServices;
let proxy: S3Proxy;
/** Picks the requests that the proxy fails itself. Each scenario sets its own. */
let inject: (request: RequestLine) => number | undefined = () => undefined;

beforeAll(async () => {
  testServices = await startTestServices();
  proxy = await startS3Proxy({ target: testServices.s3.endpoint, inject: (line) => inject(line) });
});

afterAll(async () => {
  await proxy?.stop();
  await testServices?.stop();
});

describe('503 on a source read', () => {
  let service: RunningService;
  let exportId: string;
  let frames: SnapshotFrame[];
  let final: ExportSnapshot;

  beforeAll(async () => {
    inject = failFirst(injectedFailures, ({ method, path }) => {
      return method === 'GET' && path === failingKey;
    });
    service = await startProxiedService();
    for (const source of sources) await service.putSource(source.fileId, source.bytes);

    // The third read waits until a multipart upload is open, so the failed attempt has one to
    // abort.
    const readGate = holdSourceReads(service.services.deps.store, 2);
    try {
      const { body } = await createExport(service.url, sources.map((source) => source.fileId));
      exportId = body.jobId;
      const following = readSse(`${service.url}${body.progressUrl}`, { timeoutMs: 60_000 });
      const uploadOpened = () => zipRequests(exportId, 'POST', 'uploads').length > 0;
      await waitFor(() => (uploadOpened() ? true : undefined), {
        description: 'the first CreateMultipartUpload',
      });
      readGate.release();
      ({ frames } = await following);
    } finally {
      readGate.release();
      readGate.restore();
    }

    final = await getSnapshot(service.url, `/v1/export/${exportId}`);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  });

  it('answers the injected 503s', () => {
    const injected = proxy.requests.filter((request) => request.injected);

    expect(injected).toHaveLength(injectedFailures);
    expect(injected.every((request) => request.path === failingKey)).toBe(true);
  });

  it('completes on the second attempt', () => {
    expect(final.status).toBe('completed');
    expect(final.attempt).toBe(2);
    expect(final.lastError).toBeUndefined();
  });

  it('shows the retry while waiting', () => {
    const waiting = frames.find((frame) => frame.data.status === 'queued' && frame.data.lastError);

    expect(waiting?.data.attempt).toBe(1);
    expect(waiting?.data.lastError?.code).toBe('storage_unavailable');
  });

  it('sends attempts in order', () => {
    const attempts = frames.map((frame) => frame.data.attempt);

    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    expect(attempts.at(-1)).toBe(2);
  });

  it('zips every source intact', async () => {
    await expectIntactZip(final);
  });

  it('opens one upload per attempt', () => {
    expect(zipRequests(exportId, 'POST', 'uploads')).toHaveLength(2);
  });

  it('aborts the failed upload', () => {
    expectAbortedFirstUpload(exportId);
  });
});

describe('503 on a part upload', () => {
  let service: RunningService;
  let exportId: string;
  let final: ExportSnapshot;

  beforeAll(async () => {
    inject = failFirst(injectedFailures, ({ method, query }) => {
      return method === 'PUT' && query.get('partNumber') === '2';
    });
    service = await startProxiedService();

    const { body } = await createExport(service.url, sources.map((source) => source.fileId));
    exportId = body.jobId;
    final = await waitForEnd(service.url, exportId, 60_000);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  });

  it('completes on the second attempt', () => {
    expect(final.status).toBe('completed');
    expect(final.attempt).toBe(2);
  });

  it('answers the injected 503s', () => {
    const parts = zipRequests(exportId, 'PUT', 'partNumber');
    const failed = parts.filter((part) => part.status === 503);

    expect(failed).toHaveLength(injectedFailures);
  });

  it('zips every source intact', async () => {
    await expectIntactZip(final);
  });

  it('aborts the failed upload', () => {
    expectAbortedFirstUpload(exportId);
  });
});

/** Starts the service with the worker's S3 calls going through the proxy. */
function startProxiedService(): Promise<RunningService> {
  return startService({
    testServices,
    env: { S3_ENDPOINT: proxy.endpoint, S3_PUBLIC_ENDPOINT: testServices.s3.endpoint },
  });
}

/** Fails the first `count` requests that `matches` accepts, with a 503. */
function failFirst(count: number, matches: (request: RequestLine) => boolean) {
  let left = count;

  return (request: RequestLine) => {
    if (left === 0 || !matches(request)) return undefined;
    left -= 1;
    return 503;
  };
}

async function expectIntactZip(final: ExportSnapshot): Promise<void> {
  const zip = await download(final.downloadUrl ?? 'missing downloadUrl');
  const entries = await readZipEntries(zip.body);

  expect(sha256(zip.body)).toBe(final.zip?.sha256);
  expect(entries).toHaveLength(sources.length);
  for (const source of sources) {
    const entry = entries.find((candidate) => candidate.comment === `file_id=${source.fileId}`);
    expect(sha256(entry?.bytes ?? Buffer.alloc(0))).toBe(sha256(source.bytes));
  }
}

/**
 * Checks that the first attempt's upload was aborted and the second one's completed.
 * NOTE: the emulator rejects AbortMultipartUpload with 405 and has no ListMultipartUploads,
 * so this checks the requests the service sends, not what the emulator keeps.
 */
function expectAbortedFirstUpload(exportId: string): void {
  const opened = new Set(zipRequests(exportId, 'PUT', 'uploadId').map(uploadIdOf));
  const completed = zipRequests(exportId, 'POST', 'uploadId').map(uploadIdOf);
  // The failed attempt aborts its upload, and the next attempt aborts the recorded id again
  // in case the first abort never happened; aborting twice is harmless.
  const aborted = new Set(zipRequests(exportId, 'DELETE', 'uploadId').map(uploadIdOf));

  expect(opened.size).toBe(2);
  expect(completed).toHaveLength(1);
  expect(aborted.size).toBe(1);
  expect(aborted).not.toContain(completed[0]);
  expect([...opened].sort()).toEqual([...completed, ...aborted].sort());
}

/** Returns the requests for the zip of `exportId` with `method` and the `query` parameter. */
function zipRequests(exportId: string, method: string, query: string) {
  return proxy.requests.filter(
    (request) =>
      request.path === `/exports/exports/${exportId}.zip` &&
      request.method === method &&
      request.query.has(query),
  );
}

function uploadIdOf(request: ProxiedRequest): string | null {
  return request.query.get('uploadId');
}
