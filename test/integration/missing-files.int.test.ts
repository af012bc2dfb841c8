import { randomBytes } from 'node:crypto';

import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createExport, delay, getSnapshot, waitForEnd } from '../support/api.js';
import { holdSourceReads } from '../support/hold-reads.js';
import { type RunningService, startService } from '../support/service.js';
import { readSse } from '../support/sse.js';
import { download, readZipEntries } from '../support/zip.js';

const present = [92_001, 92_002, 92_003];
const absent = [92_900, 92_901];

let service: RunningService;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  service = await startService();
  for (const fileId of present) await service.putSource(fileId, randomBytes(200_000));

  redis = new Redis(service.testServices.redisUrl, { maxRetriesPerRequest: 1 });
  queue = new Queue('exports', { connection: redis, prefix: `${service.config.redisPrefix}:bull` });
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await service?.stop();
});

describe('some files missing', () => {
  it('completes without them', async () => {
    const requested = [present[0]!, absent[0]!, present[1]!, absent[1]!];
    const { body } = await createExport(service.url, requested);

    const final = await waitForEnd(service.url, body.jobId);
    const entries = await readZipEntries((await download(final.downloadUrl ?? '')).body);

    expect(final.status).toBe('completed');
    expect(final.missingFileIds).toEqual(absent);
    expect(final.progress.filesTotal).toBe(2);
    expect(entries.map((entry) => entry.comment)).toEqual([
      `file_id=${present[0]}`,
      `file_id=${present[1]}`,
    ]);
  });

  it('counts a source deleted mid-export', async () => {
    const deleted = present[2]!;
    const readGate = holdSourceReads(service.services.deps.store);
    let exportId: string;
    try {
      ({ body: { jobId: exportId } } = await createExport(service.url, [present[0]!, deleted]));
      await readGate.reached;
      const key = service.config.sourceKeyTemplate.replace('{file_id}', String(deleted));
      await service.s3Client.send(
        new DeleteObjectCommand({ Bucket: service.config.sourceBucket, Key: key }),
      );
    } finally {
      readGate.release();
      readGate.restore();
    }

    const final = await waitForEnd(service.url, exportId);
    const entries = await readZipEntries((await download(final.downloadUrl ?? '')).body);

    expect(final.status).toBe('completed');
    expect(final.missingFileIds).toEqual([deleted]);
    expect(final.progress.bytesDone).toBe(final.progress.bytesTotal);
    expect(final.progress.filesTotal).toBe(1);
    expect(entries.map((entry) => entry.comment)).toEqual([`file_id=${present[0]}`]);
  });
});

describe('all files missing', () => {
  let exportId: string;

  beforeAll(async () => {
    ({ body: { jobId: exportId } } = await createExport(service.url, absent));
    await waitForEnd(service.url, exportId);
  });

  it('fails with all_files_missing', async () => {
    const final = await getSnapshot(service.url, `/v1/export/${exportId}`);

    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe('all_files_missing');
    expect(final.missingFileIds).toEqual(absent);
    expect(final.downloadUrl).toBeUndefined();
  });

  it('makes exactly one attempt', async () => {
    const failed = await getSnapshot(service.url, `/v1/export/${exportId}`);
    // Several times the retry backoff (JOB_BACKOFF_MS is 200), so a retry would have started.
    await delay(1_500);
    const later = await getSnapshot(service.url, `/v1/export/${exportId}`);

    expect(failed.attempt).toBe(1);
    expect(later.attempt).toBe(1);
    expect(later.version).toBe(failed.version);
  });

  it('leaves the job failed in BullMQ', async () => {
    const job = await queue.getJob(exportId);

    expect(job?.attemptsMade).toBe(1);
    expect(await job?.getState()).toBe('failed');
  });

  it('streams one failed frame', async () => {
    const { frames } = await readSse(`${service.url}/v1/export/${exportId}/progress`);

    expect(frames.map((frame) => frame.event)).toEqual(['failed']);
    expect(frames[0]?.data.error?.code).toBe('all_files_missing');
  });
});
