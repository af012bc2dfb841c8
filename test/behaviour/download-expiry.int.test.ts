import { randomBytes, randomUUID } from 'node:crypto';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, delay, getSnapshot, waitFor, waitForEnd } from '../support/api.js';
import { readError } from '../support/error-body.js';
import { generousLimits } from '../support/generous-limits.js';
import { holdSourceReads } from '../support/hold-reads.js';
import { type RunningService, startService } from '../support/service.js';
import { download, sha256 } from '../support/zip.js';

/** The minimum ARTIFACT_RETENTION_SECONDS that the config accepts. */
const artifactRetentionSeconds = 60;
const sources = [97_001, 97_002];

let service: RunningService;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  service = await startService({
    env: {
      ...generousLimits,
      ARTIFACT_RETENTION_SECONDS: String(artifactRetentionSeconds),
    },
  });
  redis = new Redis(service.testServices.redisUrl, { maxRetriesPerRequest: 1 });
  queue = new Queue('exports', { connection: redis, prefix: `${service.config.redisPrefix}:bull` });
  for (const fileId of sources) await service.putSource(fileId, randomBytes(50_000));
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await service?.stop();
});

describe('download of a completed export', () => {
  let completed: ExportSnapshot;
  let response: Response;
  let location: string;

  beforeAll(async () => {
    const { body } = await createExport(service.url, sources);
    completed = await waitForEnd(service.url, body.jobId);
    // Presigned URLs carry their signing time in whole seconds, so a later second gives a new
    // URL.
    await delay(1_100);
    response = await requestDownload(body.jobId);
    location = response.headers.get('location') ?? '';
  });

  it('completes', () => {
    expect(completed.status).toBe('completed');
  });

  it('returns 302', () => {
    expect(response.status).toBe(302);
  });

  it('forbids caching', () => {
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('signs a fresh URL', () => {
    expect(location).not.toBe('');
    expect(location).not.toBe(completed.downloadUrl);
    expect(signedAt(location) > signedAt(completed.downloadUrl ?? '')).toBe(true);
  });

  it('downloads the zip', async () => {
    const zip = await download(location);

    expect(zip.status).toBe(200);
    expect(sha256(zip.body)).toBe(completed.zip?.sha256);
  });

  it('names the zip file', () => {
    const disposition = new URL(location).searchParams.get('response-content-disposition');

    expect(disposition).toContain(completed.zip?.fileName);
  });
});

describe('download before completion', () => {
  it('returns 409', async () => {
    const gate = holdSourceReads(service.services.deps.store);
    try {
      const { body } = await createExport(service.url, sources);
      await gate.reached;
      const response = await requestDownload(body.jobId);
      const error = await readError(response);

      expect(response.status).toBe(409);
      expect(error.code).toBe('not_ready');
      expect(error.message).toMatch(/processing/);
    } finally {
      gate.release();
      gate.restore();
    }
  });

  it('returns 404 for an unknown id', async () => {
    const response = await requestDownload(randomUUID());
    const error = await readError(response);

    expect(response.status).toBe(404);
    expect(error.code).toBe('not_found');
  });
});

describe('download after expiry', () => {
  let completed: ExportSnapshot;
  let exportId: string;
  let scheduledDelayMs: number | undefined;
  let expired: ExportSnapshot;

  beforeAll(async () => {
    const { body } = await createExport(service.url, sources);
    exportId = body.jobId;
    completed = await waitForEnd(service.url, exportId);

    // Promoting the delayed job replaces waiting out the 60 s retention.
    const expiry = await queue.getJob(`expire-${exportId}`);
    if (!expiry) throw new Error(`Export ${exportId} has no expire-export job`);
    scheduledDelayMs = expiry.delay;
    await expiry.promote();
    expired = await waitFor(
      async () => {
        const snapshot = await getSnapshot(service.url, `/v1/export/${exportId}`);
        return snapshot.status === 'expired' ? snapshot : undefined;
      },
      { timeoutMs: 15_000, description: `export ${exportId} to expire` },
    );
  });

  it('schedules the expiry with the retention', () => {
    expect(scheduledDelayMs).toBe(artifactRetentionSeconds * 1_000);
  });

  it('returns 410', async () => {
    const response = await requestDownload(exportId);
    const error = await readError(response);

    expect(response.status).toBe(410);
    expect(error.code).toBe('expired');
    expect(error.field).toBe('id');
  });

  it('keeps the record', () => {
    expect(expired.jobId).toBe(exportId);
    expect(expired.progress).toEqual(completed.progress);
  });

  it('drops the download fields', () => {
    expect(expired.downloadUrl).toBeUndefined();
    expect(expired.zip).toBeUndefined();
  });

  it('deletes the zip', async () => {
    const command = new HeadObjectCommand({
      Bucket: service.config.exportBucket,
      Key: `exports/${exportId}.zip`,
    });

    await expect(service.s3Client.send(command)).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('breaks the old URL', async () => {
    const zip = await download(completed.downloadUrl ?? 'missing downloadUrl');

    expect(zip.status).toBe(404);
  });

  it('rejects a cancel', async () => {
    const response = await fetch(`${service.url}/v1/export/${exportId}`, { method: 'DELETE' });
    const error = await readError(response);

    expect(response.status).toBe(409);
    expect(error.message).toMatch(/expired/);
  });
});

function requestDownload(exportId: string): Promise<Response> {
  return fetch(`${service.url}/v1/export/${exportId}/download`, { redirect: 'manual' });
}

/** Returns the X-Amz-Date of a presigned URL, such as `20250101T120000Z`, which sorts by time. */
function signedAt(url: string): string {
  return new URL(url).searchParams.get('X-Amz-Date') ?? '';
}
