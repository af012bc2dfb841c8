/**
 * redis-server is stopped with SIGTERM while one export runs and two wait in the queue, then
 * started again on the same port and append-only file. While it is down the API must return
 * 503 at once. Once it is back, every export must complete, with the same API and worker
 * processes and the SSE streams opened before the stop.
 */
import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, delay, getSnapshot } from '../support/api.js';
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
const sources = [97_001, 97_002].map((fileId) => ({
  fileId,
  name: `part-${fileId}.bin`,
  bytes: randomBytes(4 * MiB),
}));
const exportCount = 3;

/** Each part's response is held this long, so each export runs for about 2 s. */
const partDelayMs = 1_000;
/** How long Redis stays down: longer than one part upload, so the running export writes to it. */
const outageMs = 3_000;
/** Maximum time for a request while Redis is down, far below what a hanging request takes. */
const maxOutageResponseMs = 3_000;

interface HealthBody {
  status: string;
  checks: { redis: string; storage: string };
  reasons?: { redis?: unknown; storage?: unknown };
}

let services: RestartableServices;
let delayer: DelayProxy;
let redis: Redis;
let api: ApiProcess;
let worker: WorkerProcess;
const exited = new Set<string>();

let exportIds: string[];
let statusesAtStop: ExportSnapshot[];
let createDuringOutage: { status: number; retryAfter: string | null; ms: number };
let healthDuringOutage: { status: number; body: HealthBody; ms: number };
let framesById: Map<string, SnapshotFrame[]>;
let finals: ExportSnapshot[];

beforeAll(async () => {
  services = await startRestartableServices();
  const prefix = services.env.REDIS_PREFIX!;
  delayer = await startDelayProxy({
    target: services.s3.endpoint,
    delayMs: delayUploadParts(partDelayMs),
  });
  redis = connectToTestRedis(services.redis.url);
  await putSources(services.env, sources);

  // The API sets the backoff on each job when it enqueues it.
  const env = { ...services.env, JOB_BACKOFF_MS: '500' };
  [api, worker] = await Promise.all([
    startApiProcess(env),
    startWorkerProcess({
      ...env,
      S3_ENDPOINT: delayer.endpoint,
      WORKER_CONCURRENCY: '1',
      UPLOAD_MEMORY_BUDGET_MIB: '10',
    }),
  ]);
  for (const started of [api, worker]) {
    void started.process.exited.then(() => exited.add(started.process.entry));
  }

  exportIds = [];
  const following: Array<ReturnType<typeof readSse>> = [];
  for (let index = 0; index < exportCount; index++) {
    const { body } = await createExport(api.url, sources.map((source) => source.fileId));
    exportIds.push(body.jobId);
    following.push(readSse(`${api.url}${body.progressUrl}`, { timeoutMs: 90_000 }));
  }

  await waitForUploadId(redis, prefix, exportIds[0]!);
  statusesAtStop = await Promise.all(exportIds.map((id) => getSnapshot(api.url, statusPath(id))));
  await services.redis.stop();
  const stoppedAt = Date.now();

  createDuringOutage = await postExportTimed(api.url);
  healthDuringOutage = await getHealthTimed(api.url);
  await delay(outageMs - (Date.now() - stoppedAt));
  await services.redis.start();

  const streams = await Promise.all(following);
  framesById = new Map(exportIds.map((id, index) => [id, streams[index]!.frames]));
  finals = await Promise.all(exportIds.map((id) => getSnapshot(api.url, statusPath(id))));
}, 150_000);

afterAll(async () => {
  await Promise.all([api?.process.stop(), worker?.process.stop()]);
  redis?.disconnect();
  await delayer?.stop();
  await services?.close();
});

describe('Redis restart', () => {
  it('stops with exports queued and running', () => {
    const statuses = statusesAtStop.map((snapshot) => snapshot.status);

    expect(statuses[0]).toBe('processing');
    expect(statuses.slice(1)).toEqual(['queued', 'queued']);
  });

  describe('while Redis is down', () => {
    it('returns 503 for a new export', () => {
      expect(createDuringOutage.status).toBe(503);
    });

    it('sends Retry-After', () => {
      expect(createDuringOutage.retryAfter).toMatch(/^\d+$/);
    });

    it('responds without hanging', () => {
      expect(createDuringOutage.ms).toBeLessThan(maxOutageResponseMs);
      expect(healthDuringOutage.ms).toBeLessThan(maxOutageResponseMs);
    });

    it('reports redis error in health', () => {
      expect(healthDuringOutage.status).toBe(503);
      expect(healthDuringOutage.body.checks.redis).toBe('error');
    });

    it('gives the reason', () => {
      expect(typeof healthDuringOutage.body.reasons?.redis).toBe('string');
    });
  });

  describe('after the restart', () => {
    it('completes every export', () => {
      const statuses = finals.map((snapshot) => snapshot.status);

      expect(statuses).toEqual(['completed', 'completed', 'completed']);
    });

    it('ends every stream with completed', () => {
      for (const id of exportIds) {
        expect(framesById.get(id)?.at(-1)?.event).toBe('completed');
      }
    });

    it('keeps the same processes', () => {
      expect([...exited]).toEqual([]);
    });

    it('zips every source intact', async () => {
      for (const final of finals) {
        const zip = await download(final.downloadUrl ?? 'missing downloadUrl');
        expect(await compareZipWithSources(zip.body, sources)).toEqual([]);
      }
    });
  });
});

async function postExportTimed(url: string) {
  const startedAt = Date.now();
  const response = await fetch(`${url}/v1/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ file_ids: [sources[0]!.fileId], join: false }),
    signal: AbortSignal.timeout(15_000),
  });
  await response.body?.cancel();

  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    ms: Date.now() - startedAt,
  };
}

async function getHealthTimed(url: string) {
  const startedAt = Date.now();
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(15_000) });
  const body = (await response.json()) as HealthBody;

  return { status: response.status, body, ms: Date.now() - startedAt };
}

function statusPath(exportId: string): string {
  return `/v1/export/${exportId}`;
}
