/**
 * A real worker process gets SIGTERM while it builds a long export. It must stop within
 * WORKER_SHUTDOWN_TIMEOUT_MS plus a margin and hand the job back to the queue without using an
 * attempt. A worker started afterwards must then complete the export.
 */
import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, getSnapshot } from '../support/api.js';
import { type DelayProxy, delayUploadParts, startDelayProxy } from '../support/delay-proxy.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import type { ExitStatus } from '../support/processes.js';
import {
  activeJobIds,
  type ApiProcess,
  compareZipWithSources,
  connectToTestRedis,
  isJobStart,
  putSources,
  startApiProcess,
  startWorkerProcess,
  waitForUploadId,
  type WorkerProcess,
} from '../support/service-processes.js';
import { readSse, type SnapshotFrame } from '../support/sse.js';
import { download } from '../support/zip.js';

const MiB = 1024 * 1024;

/** Three sources of 5 MiB make a zip of four parts, uploaded one at a time with a 10 MiB budget. */
const sources = [95_001, 95_002, 95_003].map((fileId) => ({
  fileId,
  name: `part-${fileId}.bin`,
  bytes: randomBytes(5 * MiB),
}));

/**
 * Each part's response is held this long, so an attempt takes about 6 s and the three parts
 * left at SIGTERM outlast the shutdown deadline.
 */
const partDelayMs = 1_500;
const shutdownDeadlineMs = 1_000;
/** Time for the hand-back, closing the connections and process exit on a loaded machine. */
const exitMarginMs = 4_000;

let testServices: TestServices;
let delayer: DelayProxy;
let redis: Redis;
let prefix: string;
let api: ApiProcess;
let first: WorkerProcess;
let second: WorkerProcess | undefined;

let exportId: string;
let exit: ExitStatus;
let exitMs: number;
let activeAfterExit: string[];
let afterExit: ExportSnapshot;
let frames: SnapshotFrame[];
let final: ExportSnapshot;

beforeAll(async () => {
  testServices = await startTestServices();
  prefix = testServices.env.REDIS_PREFIX!;
  delayer = await startDelayProxy({
    target: testServices.s3.endpoint,
    delayMs: delayUploadParts(partDelayMs),
  });
  redis = connectToTestRedis(testServices.redisUrl);
  await putSources(testServices.env, sources);

  const workerEnv = {
    ...testServices.env,
    S3_ENDPOINT: delayer.endpoint,
    // A short lock lets the second worker retake the job should the first one need SIGKILL.
    JOB_LOCK_MS: '2000',
    UPLOAD_MEMORY_BUDGET_MIB: '10',
    WORKER_SHUTDOWN_TIMEOUT_MS: String(shutdownDeadlineMs),
  };
  [api, first] = await Promise.all([
    startApiProcess(testServices.env),
    startWorkerProcess(workerEnv),
  ]);

  const { body } = await createExport(api.url, sources.map((source) => source.fileId));
  exportId = body.jobId;
  const following = readSse(`${api.url}${body.progressUrl}`, { timeoutMs: 90_000 });

  await first.process.waitForLog(isJobStart(exportId), `"Job started" line for ${exportId}`);
  await waitForUploadId(redis, prefix, exportId);

  const sigtermAt = Date.now();
  // SIGKILL follows if the worker has not exited by the deadline plus the margin.
  exit = await first.process.stop(shutdownDeadlineMs + exitMarginMs);
  exitMs = Date.now() - sigtermAt;
  activeAfterExit = await activeJobIds(redis, prefix);
  afterExit = await getSnapshot(api.url, `/v1/export/${exportId}`);

  second = await startWorkerProcess(workerEnv);
  ({ frames } = await following);
  final = frames.at(-1)!.data;
}, 120_000);

afterAll(async () => {
  await Promise.all([api?.process.stop(), first?.process.stop(), second?.process.stop()]);
  redis?.disconnect();
  await delayer?.stop();
  await testServices?.stop();
});

describe('worker SIGTERM mid-export', () => {
  it('exits within the deadline', () => {
    expect(exitMs).toBeLessThan(shutdownDeadlineMs + exitMarginMs);
  });

  it('exits with code 0', () => {
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('hands the job back', () => {
    const handedBack = first.process.logs.filter(
      (line) => line.jobId === exportId && line.msg === 'Job handed back to the queue at shutdown',
    );

    expect(handedBack).toHaveLength(1);
  });

  it('leaves no active job', () => {
    expect(activeAfterExit).toEqual([]);
  });

  // A handed-back run is not recorded, so the snapshot may still show processing until the next
  // worker takes the job.
  it('keeps the export unfailed', () => {
    expect(afterExit.status).not.toBe('failed');
  });

  it('completes on the second worker', () => {
    expect(final.status).toBe('completed');
    expect(second?.process.logs.filter(isJobStart(exportId))).toHaveLength(1);
  });

  it('keeps the first attempt', () => {
    expect(final.attempt).toBe(1);
  });

  it('sends no failed frame', () => {
    expect(frames.filter((frame) => frame.event === 'failed')).toEqual([]);
  });

  it('zips every source intact', async () => {
    const zip = await download(final.downloadUrl ?? 'missing downloadUrl');

    expect(await compareZipWithSources(zip.body, sources)).toEqual([]);
  });
});
