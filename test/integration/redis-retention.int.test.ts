import { randomBytes } from 'node:crypto';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createExport, getSnapshot, waitFor, waitForEnd } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';

const fileId = 95_001;
const recordRetentionSeconds = 3_600;
const artifactRetentionSeconds = 600;

let testServices: TestServices;
let redis: Redis;

beforeAll(async () => {
  testServices = await startTestServices();
  redis = new Redis(testServices.redisUrl, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await testServices?.stop();
});

describe('Redis after a completed export', () => {
  let service: RunningService;
  let queue: Queue;
  let exportId: string;

  beforeAll(async () => {
    service = await startService({
      testServices,
      env: {
        RECORD_RETENTION_SECONDS: String(recordRetentionSeconds),
        ARTIFACT_RETENTION_SECONDS: String(artifactRetentionSeconds),
      },
    });
    queue = new Queue('exports', { connection: redis, prefix: bullPrefix(service) });
    await service.putSource(fileId, randomBytes(100_000));

    const { body } = await createExport(service.url, [fileId]);
    exportId = body.jobId;
    await waitForEnd(service.url, exportId);
  });

  afterAll(async () => {
    await queue?.close();
    await service?.stop();
  });

  it('removes the build job', async () => {
    const keys = await waitFor(
      async () => {
        const found = await scanKeys(`${bullPrefix(service)}:exports:${exportId}*`);
        return found.length === 0 ? found : undefined;
      },
      { timeoutMs: 5_000, description: `the BullMQ keys of job ${exportId} to be removed` },
    );

    expect(keys).toEqual([]);
  });

  it('expires the record with the retention', async () => {
    const pttl = await redis.pttl(`${service.config.redisPrefix}:export:${exportId}`);

    expect(pttl).toBeLessThanOrEqual(recordRetentionSeconds * 1000);
    expect(pttl).toBeGreaterThan((recordRetentionSeconds - 30) * 1000);
  });

  it('schedules the zip expiry', async () => {
    const job = await queue.getJob(`expire-${exportId}`);

    expect(await job?.getState()).toBe('delayed');
    expect(job?.delay).toBe(artifactRetentionSeconds * 1000);
  });
});

describe('Redis after the zip expires', () => {
  let service: RunningService;
  let queue: Queue;
  let exportId: string;
  let zipKey: string;

  beforeAll(async () => {
    service = await startService({
      testServices,
      env: {
        RECORD_RETENTION_SECONDS: String(recordRetentionSeconds),
        ARTIFACT_RETENTION_SECONDS: String(artifactRetentionSeconds),
      },
    });
    queue = new Queue('exports', { connection: redis, prefix: bullPrefix(service) });
    await service.putSource(fileId, randomBytes(100_000));

    const { body } = await createExport(service.url, [fileId]);
    exportId = body.jobId;
    zipKey = `exports/${exportId}.zip`;
    await waitForEnd(service.url, exportId);

    // Promoting the delayed job replaces waiting out the artifact retention.
    const expiry = await queue.getJob(`expire-${exportId}`);
    if (!expiry) throw new Error(`Export ${exportId} has no expire-export job`);
    await expiry.promote();
    await waitFor(
      async () => ((await getSnapshot(service.url, body.statusUrl)).downloadUrl ? undefined : true),
      { timeoutMs: 15_000, description: `the zip of export ${exportId} to expire` },
    );
  });

  afterAll(async () => {
    await queue?.close();
    await service?.stop();
  });

  it('deletes the zip', async () => {
    const command = new HeadObjectCommand({ Bucket: service.config.exportBucket, Key: zipKey });

    await expect(service.s3Client.send(command)).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('marks the record expired', async () => {
    const snapshot = await getSnapshot(service.url, `/v1/export/${exportId}`);

    expect(snapshot.status).toBe('expired');
    expect(snapshot.downloadUrl).toBeUndefined();
  });

  it('answers 410 for the download', async () => {
    const response = await fetch(`${service.url}/v1/export/${exportId}/download`, {
      redirect: 'manual',
    });

    expect(response.status).toBe(410);
  });

  it('leaves no job keys', async () => {
    const keys = await waitFor(
      async () => {
        const found = await scanKeys(`${bullPrefix(service)}:exports:*${exportId}*`);
        return found.length === 0 ? found : undefined;
      },
      { timeoutMs: 5_000, description: `the BullMQ keys of export ${exportId} to be removed` },
    );

    expect(keys).toEqual([]);
  });

  it('keeps only the expiring record', async () => {
    const keys = await scanKeys(`${service.config.redisPrefix}:*${exportId}*`);
    const pttl = await redis.pttl(`${service.config.redisPrefix}:export:${exportId}`);

    expect(keys).toEqual([`${service.config.redisPrefix}:export:${exportId}`]);
    expect(pttl).toBeGreaterThan(0);
  });
});

function bullPrefix(service: RunningService): string {
  return `${service.config.redisPrefix}:bull`;
}

async function scanKeys(pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');

  return keys;
}
