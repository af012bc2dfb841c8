/**
 * Two real API processes and two workers on one Redis. Exports created through API B are
 * followed over SSE on API A, whichever worker builds them, so record changes must reach every
 * API process through Redis.
 */
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createExport } from '../support/api.js';
import { type DelayProxy, startDelayProxy } from '../support/delay-proxy.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import {
  type ApiProcess,
  compareZipWithSources,
  isJobStart,
  putSources,
  type Source,
  startApiProcess,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/service-processes.js';
import { readSse, type SnapshotFrame } from '../support/sse.js';
import { download } from '../support/zip.js';

/** Each export zips one source; three exports give both workers a chance to take one. */
const exportSources: Source[][] = [96_001, 96_002, 96_003].map((fileId) => [
  { fileId, name: `file-${fileId}.bin`, bytes: randomBytes(300_000) },
]);

/**
 * Each source read is held this long, so every export is still running when its stream opens
 * and the terminal frame has to arrive live.
 */
const readDelayMs = 1_000;

let testServices: TestServices;
let delayer: DelayProxy;
let apiA: ApiProcess;
let apiB: ApiProcess;
let workers: WorkerProcess[] = [];

let exportIds: string[];
let framesById: Map<string, SnapshotFrame[]>;

beforeAll(async () => {
  testServices = await startTestServices();
  await putSources(testServices.env, exportSources.flat());
  delayer = await startDelayProxy({
    target: testServices.s3.endpoint,
    delayMs: ({ method, path }) => {
      const isSourceRead = method === 'GET' && path.startsWith('/downloads/');
      return isSourceRead ? readDelayMs : 0;
    },
  });
  const workerEnv = { ...testServices.env, S3_ENDPOINT: delayer.endpoint };
  [apiA, apiB, ...workers] = await Promise.all([
    startApiProcess(testServices.env),
    startApiProcess(testServices.env),
    startWorkerProcess(workerEnv),
    startWorkerProcess(workerEnv),
  ]);

  exportIds = [];
  const following: Array<ReturnType<typeof readSse>> = [];
  for (const sources of exportSources) {
    const { body } = await createExport(apiB.url, sources.map((source) => source.fileId));
    exportIds.push(body.jobId);
    following.push(readSse(`${apiA.url}${body.progressUrl}`, { timeoutMs: 60_000 }));
  }

  const streams = await Promise.all(following);
  framesById = new Map(exportIds.map((id, index) => [id, streams[index]!.frames]));
}, 120_000);

afterAll(async () => {
  const all = [apiA, apiB, ...workers].filter((started) => started !== undefined);
  await Promise.all(all.map((started) => started.process.stop()));
  await delayer?.stop();
  await testServices?.stop();
});

describe('two APIs and two workers', () => {
  it('streams each export to completed', () => {
    for (const id of exportIds) {
      expect(framesById.get(id)?.at(-1)?.event).toBe('completed');
    }
  });

  it('sends one completed frame each', () => {
    for (const id of exportIds) {
      const completed = framesById.get(id)?.filter((frame) => frame.event === 'completed');
      expect(completed).toHaveLength(1);
    }
  });

  it('starts each stream before the end', () => {
    for (const id of exportIds) {
      expect(framesById.get(id)?.[0]?.event).toBe('snapshot');
    }
  });

  it('builds each export once', () => {
    for (const id of exportIds) {
      const starts = workers.flatMap((worker) => worker.process.logs.filter(isJobStart(id)));
      expect(starts).toHaveLength(1);
    }
  });

  it('zips every source intact', async () => {
    for (const [index, id] of exportIds.entries()) {
      const final = framesById.get(id)?.at(-1)?.data;
      const zip = await download(final?.downloadUrl ?? 'missing downloadUrl');
      expect(await compareZipWithSources(zip.body, exportSources[index]!)).toEqual([]);
    }
  });
});
