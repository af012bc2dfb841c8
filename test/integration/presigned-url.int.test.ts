import { randomBytes } from 'node:crypto';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createExport, delay, waitForEnd } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';
import { download, sha256 } from '../support/zip.js';

const fileId = 94_001;

let testServices: TestServices;
let service: RunningService;
let downloadUrl: URL;
let zipSha256: string | undefined;
let expiresAt: string | undefined;

beforeAll(async () => {
  testServices = await startTestServices();
  service = await startService({ testServices });
  await service.putSource(fileId, randomBytes(100_000), 'data.bin');

  const final = await exportOne(service);
  downloadUrl = new URL(final.downloadUrl ?? 'missing:downloadUrl');
  zipSha256 = final.zip?.sha256;
  expiresAt = final.expiresAt;
});

afterAll(async () => {
  await service?.stop();
  await testServices?.stop();
});

describe('presigned download URL', () => {
  it('downloads the zip as signed', async () => {
    const { status, body } = await download(downloadUrl.href);

    expect(status).toBe(200);
    expect(sha256(body)).toBe(zipSha256);
  });

  it('lasts DOWNLOAD_URL_TTL_SECONDS', () => {
    const ttlSeconds = service.config.downloadUrlTtlSeconds;
    const signedAt = parseAmzDate(downloadUrl.searchParams.get('X-Amz-Date') ?? '');
    const reportedLifetimeMs = Date.parse(expiresAt ?? '') - signedAt;

    expect(downloadUrl.searchParams.get('X-Amz-Expires')).toBe(String(ttlSeconds));
    // X-Amz-Date has whole seconds, and expiresAt is taken just after signing.
    expect(Math.abs(reportedLifetimeMs - ttlSeconds * 1000)).toBeLessThan(2_000);
  });

  it('rejects a changed signature', async () => {
    const tampered = withQuery(downloadUrl, 'X-Amz-Signature', (signature) => flipLast(signature));

    expect((await download(tampered)).status).toBe(403);
  });

  it('rejects a changed key', async () => {
    // The path of an object that exists: the signature must not open any other key.
    const tampered = new URL(downloadUrl);
    tampered.pathname = `/${service.config.sourceBucket}/downloads/${fileId}.zip`;

    expect((await download(tampered.href)).status).toBe(403);
  });

  it('rejects a longer expiry', async () => {
    const tampered = withQuery(downloadUrl, 'X-Amz-Expires', () => '604800');

    expect((await download(tampered)).status).toBe(403);
  });

  it('rejects a changed file name', async () => {
    const tampered = withQuery(
      downloadUrl,
      'response-content-disposition',
      () => 'attachment; filename="other.zip"',
    );

    expect((await download(tampered)).status).toBe(403);
  });
});

describe('expired download URL', () => {
  let shortLived: RunningService;
  let expiredUrl: string;
  let key: string;

  beforeAll(async () => {
    shortLived = await startService({ testServices, env: { DOWNLOAD_URL_TTL_SECONDS: '1' } });
    const final = await exportOne(shortLived);
    expiredUrl = final.downloadUrl ?? 'missing:downloadUrl';
    key = `exports/${final.jobId}.zip`;
    await delay(2_000);
  });

  afterAll(async () => {
    await shortLived?.stop();
  });

  it('rejects it with 403', async () => {
    const response = await fetch(expiredUrl);
    const body = await response.text();

    expect(response.status).toBe(403);
    expect(body).toContain('<Code>AccessDenied</Code>');
  });

  it('keeps the zip it pointed to', async () => {
    const command = new HeadObjectCommand({ Bucket: shortLived.config.exportBucket, Key: key });
    const head = await shortLived.s3Client.send(command);

    expect(head.ContentLength).toBeGreaterThan(0);
  });
});

async function exportOne(running: RunningService) {
  const { body } = await createExport(running.url, [fileId]);
  const final = await waitForEnd(running.url, body.jobId);
  if (final.status !== 'completed') throw new Error(`Export ${body.jobId} ended ${final.status}`);

  return final;
}

/** Returns `url` with the query parameter `name` replaced by `change(value)`. */
function withQuery(url: URL, name: string, change: (value: string) => string): string {
  const copy = new URL(url);
  const value = copy.searchParams.get(name);
  if (value === null) throw new Error(`The presigned URL has no ${name} parameter`);
  copy.searchParams.set(name, change(value));

  return copy.href;
}

/** Parses the SigV4 timestamp format, such as `20240131T235959Z`, into milliseconds. */
function parseAmzDate(value: string): number {
  const iso = value.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');

  return Date.parse(iso);
}

/** Changes the last hex digit, so exactly one character differs. */
function flipLast(hex: string): string {
  const last = hex.at(-1) === '0' ? '1' : '0';

  return `${hex.slice(0, -1)}${last}`;
}
