import { randomBytes, randomUUID } from 'node:crypto';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { holdAbortableReads, type AbortableReadGate } from '../support/abortable-reads.js';
import { createExport, getSnapshot, waitFor, waitForEnd } from '../support/api.js';
import { readError } from '../support/error-body.js';
import { generousLimits } from '../support/generous-limits.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.js';
import { openSse, readSse, type SnapshotFrame } from '../support/sse.js';

const MiB = 1024 * 1024;

/** How soon a cancelled export must stop, with room for a loaded 2-core machine. */
const promptMs = 5_000;

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

describe('cancel a queued export', () => {
  const cancelledSource = 96_101;
  const markerSource = 96_102;
  let api: RunningService;
  let worker: RunningService | undefined;
  let exportId: string;
  let cancelResponse: Response;
  let cancelled: ExportSnapshot;
  let headedKeys: string[];

  beforeAll(async () => {
    api = await startService({ testServices, worker: false, env: generousLimits });
    await api.putSource(cancelledSource, randomBytes(1_000));
    await api.putSource(markerSource, randomBytes(1_000));

    ({ jobId: exportId } = (await createExport(api.url, [cancelledSource])).body);
    cancelResponse = await cancel(api, exportId);
    cancelled = (await cancelResponse.clone().json()) as ExportSnapshot;

    // A worker on the same Redis keys. Once the export queued after the cancelled one has
    // ended, the worker would have taken the cancelled one before it.
    worker = await startService({
      testServices,
      env: { ...generousLimits, REDIS_PREFIX: api.config.redisPrefix },
    });
    const head = vi.spyOn(worker.services.deps.store, 'head');
    try {
      const marker = await createExport(api.url, [markerSource]);
      await waitForEnd(api.url, marker.body.jobId);
      headedKeys = head.mock.calls.map(([, key]) => key);
    } finally {
      head.mockRestore();
    }
  });

  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
  });

  it('returns 200 with the snapshot', () => {
    expect(cancelResponse.status).toBe(200);
    expect(cancelled.jobId).toBe(exportId);
  });

  it('reports cancelled', async () => {
    const snapshot = await getSnapshot(api.url, `/v1/export/${exportId}`);

    expect(snapshot.status).toBe('cancelled');
  });

  it('removes the queued job', async () => {
    const queue = queueOf(api);
    try {
      expect(await queue.getJob(exportId)).toBeUndefined();
    } finally {
      await queue.close();
    }
  });

  it('never runs', () => {
    const sourceKey = `downloads/${cancelledSource}.zip`;

    expect(headedKeys).toContain(`downloads/${markerSource}.zip`);
    expect(headedKeys).not.toContain(sourceKey);
  });

  it('leaves the record as cancelled', async () => {
    const snapshot = await getSnapshot(api.url, `/v1/export/${exportId}`);

    expect(snapshot.attempt).toBe(0);
    expect(snapshot.version).toBe(cancelled.version);
  });

  it('stores no zip', async () => {
    expect(await zipExists(api, exportId)).toBe(false);
  });
});

describe('cancel a running export', () => {
  /** Two sources of 6 MiB fill a 5 MiB part, so a multipart upload is open at the gate. */
  const sources = [96_201, 96_202, 96_203];
  let proxy: S3Proxy;
  let service: RunningService;
  let gate: AbortableReadGate;
  let exportId: string;
  let frames: SnapshotFrame[];
  let cancelResponse: Response;
  let stopMs: number;

  beforeAll(async () => {
    proxy = await startS3Proxy({ target: testServices.s3.endpoint });
    service = await startService({
      testServices,
      env: {
        ...generousLimits,
        S3_ENDPOINT: proxy.endpoint,
        S3_PUBLIC_ENDPOINT: testServices.s3.endpoint,
      },
    });
    await service.putSource(sources[0]!, randomBytes(6 * MiB));
    await service.putSource(sources[1]!, randomBytes(6 * MiB));
    await service.putSource(sources[2]!, randomBytes(1_000));
    gate = holdAbortableReads(service.services.deps.store, 2);

    const { body } = await createExport(service.url, sources);
    exportId = body.jobId;
    const following = readSse(`${service.url}${body.progressUrl}`);
    await gate.reached;
    await waitFor(() => (zipRequests(exportId, 'POST', 'uploads').length > 0 ? true : undefined), {
      description: `the multipart upload of export ${exportId} to start`,
    });

    const cancelledAt = performance.now();
    cancelResponse = await cancel(service, exportId);
    stopMs = (await gate.aborted) - cancelledAt;
    ({ frames } = await following);
    await waitForJobState(service, exportId, 'failed');
  }, 60_000);

  afterAll(async () => {
    gate?.release();
    gate?.restore();
    await service?.stop();
    await proxy?.stop();
  });

  it('returns 200', () => {
    expect(cancelResponse.status).toBe(200);
  });

  it('aborts the held read promptly', () => {
    expect(stopMs).toBeLessThan(promptMs);
  });

  it('reports cancelled', async () => {
    const snapshot = await getSnapshot(service.url, `/v1/export/${exportId}`);

    expect(snapshot.status).toBe('cancelled');
    expect(snapshot.error).toBeUndefined();
  });

  it('ends SSE with cancelled', () => {
    const last = frames.at(-1);

    expect(last?.event).toBe('cancelled');
    expect(last?.data.status).toBe('cancelled');
  });

  it('sends one terminal frame', () => {
    const terminal = frames.filter((frame) => frame.event === 'cancelled');

    expect(terminal).toHaveLength(1);
  });

  it('stores no zip', async () => {
    expect(await zipExists(service, exportId)).toBe(false);
  });

  it('never completes the upload', () => {
    const completions = zipRequests(exportId, 'POST', 'uploadId');

    expect(completions).toHaveLength(0);
  });

  it('requests the upload abort', async () => {
    // The emulator rejects the abort with 405 and keeps the upload, so only the request can be
    // checked.
    const aborts = await waitFor(
      () => {
        const found = zipRequests(exportId, 'DELETE', 'uploadId');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 10_000, description: `the abort of the upload of export ${exportId}` },
    );

    const parts = zipRequests(exportId, 'PUT', 'uploadId');

    expect(aborts[0]?.query.get('uploadId')).toBe(parts[0]?.query.get('uploadId'));
  });

  it('ends the job without retries', async () => {
    const queue = queueOf(service);
    try {
      const job = await queue.getJob(exportId);
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/cancelled/);
    } finally {
      await queue.close();
    }
  });

  function zipRequests(id: string, method: string, query: string) {
    return proxy.requests.filter(
      (request) =>
        request.path === `/exports/exports/${id}.zip` &&
        request.method === method &&
        request.query.has(query),
    );
  }
});

describe('cancel through another process', () => {
  const source = 96_301;
  let api: RunningService;
  let worker: RunningService;
  let gate: AbortableReadGate;
  let exportId: string;
  let frames: SnapshotFrame[];
  let multiplexedFrames: SnapshotFrame[];
  let stopMs: number;

  beforeAll(async () => {
    api = await startService({ testServices, worker: false, env: generousLimits });
    worker = await startService({
      testServices,
      env: { ...generousLimits, REDIS_PREFIX: api.config.redisPrefix },
    });
    await api.putSource(source, randomBytes(1_000));
    gate = holdAbortableReads(worker.services.deps.store);

    const { body } = await createExport(api.url, [source]);
    exportId = body.jobId;
    const following = readSse(`${api.url}${body.progressUrl}`);
    // The worker's process serves this stream, so the change must cross Redis to reach it. It
    // is open, with its first frame sent, before the cancel.
    const many = await openSse(`${worker.url}/v1/exports/progress?ids=${exportId}`);
    await gate.reached;

    const cancelledAt = performance.now();
    const response = await cancel(api, exportId);
    await response.body?.cancel();
    stopMs = (await gate.aborted) - cancelledAt;
    ({ frames } = await following);
    multiplexedFrames = [];
    for await (const frame of many.frames) multiplexedFrames.push(frame);
    await waitForJobState(api, exportId, 'failed');
  });

  afterAll(async () => {
    gate?.release();
    gate?.restore();
    await worker?.stop();
    await api?.stop();
  });

  it('stops the other worker promptly', () => {
    expect(stopMs).toBeLessThan(promptMs);
  });

  it('ends SSE with cancelled', () => {
    expect(frames.at(-1)?.event).toBe('cancelled');
  });

  it('ends the multiplexed stream too', () => {
    expect(multiplexedFrames.at(-1)?.event).toBe('cancelled');
  });

  it('keeps the status cancelled', async () => {
    const snapshot = await getSnapshot(worker.url, `/v1/export/${exportId}`);

    expect(snapshot.status).toBe('cancelled');
  });

  it('stores no zip', async () => {
    expect(await zipExists(api, exportId)).toBe(false);
  });
});

describe('cancel refusals', () => {
  const source = 96_401;
  let service: RunningService;
  let completedId: string;

  beforeAll(async () => {
    service = await startService({ testServices, env: generousLimits });
    await service.putSource(source, randomBytes(1_000));
    const { body } = await createExport(service.url, [source]);
    completedId = body.jobId;
    await waitForEnd(service.url, completedId);
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('returns 409 when completed', async () => {
    const response = await cancel(service, completedId);
    const error = await readError(response);

    expect(response.status).toBe(409);
    expect(error.code).toBe('conflict');
    expect(error.message).toMatch(/completed/);
  });

  it('keeps the completed zip', async () => {
    const snapshot = await getSnapshot(service.url, `/v1/export/${completedId}`);

    expect(snapshot.status).toBe('completed');
    expect(await zipExists(service, completedId)).toBe(true);
  });

  it('returns 409 when cancelled', async () => {
    const { body } = await createExport(service.url, [source]);
    await (await cancel(service, body.jobId)).body?.cancel();
    const again = await cancel(service, body.jobId);
    await again.body?.cancel();

    // The first cancel may arrive after the worker finished the export. Either way the second
    // one gets a 409.
    expect(again.status).toBe(409);
  });

  it('returns 404 for an unknown id', async () => {
    const response = await cancel(service, randomUUID());
    const error = await readError(response);

    expect(response.status).toBe(404);
    expect(error.code).toBe('not_found');
    expect(error.field).toBe('id');
  });

  it('returns 400 for a malformed id', async () => {
    const response = await cancel(service, 'not-a-uuid');
    const error = await readError(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe('id');
  });
});

function cancel(service: RunningService, exportId: string): Promise<Response> {
  return fetch(`${service.url}/v1/export/${exportId}`, { method: 'DELETE' });
}

function queueOf(service: RunningService): Queue {
  return new Queue('exports', { connection: redis, prefix: `${service.config.redisPrefix}:bull` });
}

async function waitForJobState(service: RunningService, jobId: string, state: string) {
  const queue = queueOf(service);
  try {
    await waitFor(async () => ((await queue.getJobState(jobId)) === state ? true : undefined), {
      description: `job ${jobId} to be ${state}`,
    });
  } finally {
    await queue.close();
  }
}

async function zipExists(service: RunningService, exportId: string): Promise<boolean> {
  const command = new HeadObjectCommand({
    Bucket: service.config.exportBucket,
    Key: `exports/${exportId}.zip`,
  });
  try {
    await service.s3Client.send(command);
    return true;
  } catch (error) {
    if ((error as Error).name === 'NotFound') return false;
    throw error;
  }
}
