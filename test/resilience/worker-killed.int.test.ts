/**
 * Two real worker processes share the queue. The one building an export is killed with SIGKILL
 * after the first part of its multipart upload. The other one must take the job over once the
 * lock expires, abort the dead attempt's upload and finish the export for the SSE client.
 */
import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, waitFor } from '../support/api.js';
import { type DelayProxy, delayUploadParts, startDelayProxy } from '../support/delay-proxy.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import type { ExitStatus } from '../support/processes.js';
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.js';
import {
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
const sources = [94_001, 94_002, 94_003].map((fileId) => ({
  fileId,
  name: `part-${fileId}.bin`,
  bytes: randomBytes(5 * MiB),
}));

/** Each part's response is held this long, so one attempt takes about 6 s. */
const partDelayMs = 1_500;

let testServices: TestServices;
let recorder: S3Proxy;
let delayer: DelayProxy;
let redis: Redis;
let api: ApiProcess;
let workers: WorkerProcess[] = [];

let exportId: string;
let killed: WorkerProcess;
let survivor: WorkerProcess;
let killedExit: ExitStatus;
let killedUploadId: string;
let frames: SnapshotFrame[];
let final: ExportSnapshot;

beforeAll(async () => {
  testServices = await startTestServices();
  // The workers reach S3 through the delay proxy, then the recording proxy, which counts the
  // aborts that the emulator itself rejects with 405.
  recorder = await startS3Proxy({ target: testServices.s3.endpoint });
  delayer = await startDelayProxy({
    target: recorder.endpoint,
    delayMs: delayUploadParts(partDelayMs),
  });
  redis = connectToTestRedis(testServices.redisUrl);
  await putSources(testServices.env, sources);

  const workerEnv = {
    ...testServices.env,
    S3_ENDPOINT: delayer.endpoint,
    // The surviving worker retakes the job about this long after the kill.
    JOB_LOCK_MS: '2000',
    UPLOAD_MEMORY_BUDGET_MIB: '10',
  };
  [api, ...workers] = await Promise.all([
    startApiProcess(testServices.env),
    startWorkerProcess(workerEnv),
    startWorkerProcess(workerEnv),
  ]);

  const { body } = await createExport(api.url, sources.map((source) => source.fileId));
  exportId = body.jobId;
  const following = readSse(`${api.url}${body.progressUrl}`, { timeoutMs: 90_000 });

  killed = await waitFor(
    () => workers.find((worker) => worker.process.logs.some(isJobStart(exportId))),
    { timeoutMs: 20_000, description: `a worker to log "Job started" for ${exportId}` },
  );
  survivor = workers.find((worker) => worker !== killed)!;

  // The kill waits until the first part is stored and its upload id is on the record, so
  // the dead attempt always leaves an upload behind to abort.
  killedUploadId = await waitForUploadId(redis, testServices.env.REDIS_PREFIX!, exportId);
  process.kill(killed.process.pid, 'SIGKILL');
  killedExit = await killed.process.exited;

  ({ frames } = await following);
  final = frames.at(-1)!.data;
}, 120_000);

afterAll(async () => {
  await Promise.all([api?.process.stop(), ...workers.map((worker) => worker.process.stop())]);
  redis?.disconnect();
  await delayer?.stop();
  await recorder?.stop();
  await testServices?.stop();
});

describe('worker killed mid-export', () => {
  it('kills the running worker', () => {
    expect(killedExit.signal).toBe('SIGKILL');
  });

  it('lets the other worker take over', () => {
    expect(survivor.process.logs.filter(isJobStart(exportId))).toHaveLength(1);
  });

  it('sends one completed frame', () => {
    const completed = frames.filter((frame) => frame.event === 'completed');

    expect(completed).toHaveLength(1);
  });

  it('ends the stream with it', () => {
    expect(frames.at(-1)?.event).toBe('completed');
  });

  it('sends no failed frame', () => {
    expect(frames.filter((frame) => frame.event === 'failed')).toEqual([]);
  });

  it('zips every source intact', async () => {
    const zip = await download(final.downloadUrl ?? 'missing downloadUrl');

    expect(zip.status).toBe(200);
    expect(await compareZipWithSources(zip.body, sources)).toEqual([]);
  });

  it('aborts the killed upload', () => {
    const aborts = recorder.requests.filter(
      (request) => request.method === 'DELETE' && request.query.get('uploadId') === killedUploadId,
    );

    expect(aborts.length).toBeGreaterThan(0);
  });

  it('completes another upload', () => {
    const completions = recorder.requests.filter(
      (request) => request.method === 'POST' && request.query.has('uploadId'),
    );

    expect(completions).toHaveLength(1);
    expect(completions[0]?.query.get('uploadId')).not.toBe(killedUploadId);
  });
});
