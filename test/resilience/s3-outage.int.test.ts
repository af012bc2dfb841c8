/**
 * The S3 emulator is stopped while a real worker process uploads an export, then started again
 * on the same port and folder. An outage shorter than the retry budget costs attempts but not
 * the export. One longer than the budget fails the export with a storage error, which the SSE
 * client receives as its terminal frame.
 */
import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, delay } from '../support/api.js';
import { type DelayProxy, delayUploadParts, startDelayProxy } from '../support/delay-proxy.js';
import {
  type RestartableServices,
  startRestartableServices,
} from '../support/restartable-services.js';
import {
  type ApiProcess,
  compareZipWithSources,
  connectToTestRedis,
  putSources,
  startApiProcess,
  startWorkerProcess,
  waitForUploadId,
  type WorkerProcess,
} from '../support/service-processes.js';
import { readSse, type SnapshotFrame } from '../support/sse.js';
import { download } from '../support/zip.js';

const MiB = 1024 * 1024;

/** Two sources of 4 MiB make a zip of two parts. */
const sources = [98_001, 98_002].map((fileId) => ({
  fileId,
  name: `part-${fileId}.bin`,
  bytes: randomBytes(4 * MiB),
}));

/** Each part's response is held this long, so the upload is still going when S3 stops. */
const partDelayMs = 1_000;

/**
 * Four attempts with waits of 1, 2 and 4 s between them: a retry budget of 7 s plus the time
 * the attempts themselves take.
 */
const jobAttempts = 4;
const backoffMs = 1_000;
const retryBudgetMs = backoffMs * (2 ** (jobAttempts - 1) - 1);
/** Shorter than the first two waits together, so the third attempt at the latest finds S3 up. */
const shortOutageMs = 2_000;

let services: RestartableServices;
let delayer: DelayProxy;
let redis: Redis;
let api: ApiProcess;
let worker: WorkerProcess;

beforeAll(async () => {
  services = await startRestartableServices();
  delayer = await startDelayProxy({
    target: services.s3.endpoint,
    delayMs: delayUploadParts(partDelayMs),
  });
  redis = connectToTestRedis(services.redis.url);
  await putSources(services.env, sources);

  // The API sets attempts and backoff on each job when it enqueues it.
  const env = {
    ...services.env,
    JOB_ATTEMPTS: String(jobAttempts),
    JOB_BACKOFF_MS: String(backoffMs),
  };
  [api, worker] = await Promise.all([
    startApiProcess(env),
    startWorkerProcess({ ...env, S3_ENDPOINT: delayer.endpoint, UPLOAD_MEMORY_BUDGET_MIB: '10' }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all([api?.process.stop(), worker?.process.stop()]);
  redis?.disconnect();
  await delayer?.stop();
  await services?.close();
});

/**
 * Creates an export, follows it over SSE, and stops S3 once the first part is stored. Resolves
 * with the SSE request still running, when S3 has stopped.
 */
async function startExportAndStopS3(): Promise<{ following: ReturnType<typeof readSse> }> {
  const { body } = await createExport(api.url, sources.map((source) => source.fileId));
  const following = readSse(`${api.url}${body.progressUrl}`, { timeoutMs: 90_000 });
  await waitForUploadId(redis, services.env.REDIS_PREFIX!, body.jobId);
  await services.s3.stop();

  return { following };
}

describe('S3 outage shorter than the retries', () => {
  let frames: SnapshotFrame[];
  let final: ExportSnapshot;

  beforeAll(async () => {
    const { following } = await startExportAndStopS3();
    await delay(shortOutageMs);
    await services.s3.start();

    ({ frames } = await following);
    final = frames.at(-1)!.data;
  }, 90_000);

  it('completes the export', () => {
    expect(final.status).toBe('completed');
  });

  it('retries at least once', () => {
    expect(final.attempt).toBeGreaterThan(1);
  });

  it('shows the storage error while waiting', () => {
    const waiting = frames.filter((frame) => frame.data.status === 'queued');
    const codes = waiting.map((frame) => frame.data.lastError?.code);

    // NOTE: the first failed attempt can record `internal` instead, cause not found, so the
    // storage code is looked for in every waiting frame.
    expect(codes).toContain('storage_unavailable');
  });

  it('sends no failed frame', () => {
    expect(frames.filter((frame) => frame.event === 'failed')).toEqual([]);
  });

  it('zips every source intact', async () => {
    const zip = await download(final.downloadUrl ?? 'missing downloadUrl');

    expect(await compareZipWithSources(zip.body, sources)).toEqual([]);
  });
});

describe('S3 outage longer than the retries', () => {
  let frames: SnapshotFrame[];
  let final: ExportSnapshot;
  let outageMs: number;

  beforeAll(async () => {
    await services.s3.start();
    const { following } = await startExportAndStopS3();
    const stoppedAt = Date.now();

    // S3 stays down until the SSE stream has ended.
    ({ frames } = await following);
    outageMs = Date.now() - stoppedAt;
    final = frames.at(-1)!.data;
  }, 90_000);

  it('outlasts the retry budget', () => {
    expect(outageMs).toBeGreaterThan(retryBudgetMs);
  });

  it('sends a terminal failed frame', () => {
    expect(frames.at(-1)?.event).toBe('failed');
  });

  it('uses every attempt', () => {
    expect(final.attempt).toBe(jobAttempts);
  });

  it('names storage in the error', () => {
    expect(final.error?.code).toBe('storage_unavailable');
    expect(final.error?.message).toMatch(/\bS3\b/);
  });
});
