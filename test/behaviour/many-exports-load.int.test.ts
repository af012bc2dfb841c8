/**
 * Load: 1,000 small exports submitted in one burst, built by two workers on one Redis, followed on
 * 20 multiplexed SSE streams of 50 exports each. The API, both workers and the S3 emulator
 * share the test process.
 */
import { randomBytes } from 'node:crypto';

import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createExport, waitFor } from '../support/api.js';
import { generousLimits } from '../support/generous-limits.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';
import { openSse, type SnapshotFrame } from '../support/sse.js';

const exportCount = 1_000;
/**
 * Requests in flight while submitting. With all 1,000 on fresh connections at once, one run
 * on a loaded machine got ECONNRESET, probably past Node's default listen backlog of 511.
 */
const submitConcurrency = 100;
/** GET /v1/exports/progress follows at most 50 exports per stream. */
const idsPerStream = 50;
const sourceIds = Array.from({ length: 10 }, (_, index) => 98_001 + index);
/** Stops the run on a machine far slower than the 2-core one it was sized for. */
const deadlineMs = 150_000;

/** One stream's frames, and whether the server ended it before the deadline. */
interface StreamResult {
  frames: SnapshotFrame[];
  ended: boolean;
}

let testServices: TestServices;
let api: RunningService;
const workers: RunningService[] = [];
let queueEvents: QueueEvents;
let eventsConnection: Redis;
const jobIds: string[] = [];
const joined: boolean[] = [];
let streams: StreamResult[] = [];
/** BullMQ `completed` events per build job, as the queue's event stream reports them. */
const queueCompletions = new Map<string, number>();
const uploadsPerWorker: number[] = [];

beforeAll(async () => {
  testServices = await startTestServices();
  // Submissions and streams go to an API with no worker, so every stream opens before any
  // export starts and receives all of its frames.
  api = await startService({ testServices, worker: false, env: generousLimits });
  for (const fileId of sourceIds) {
    await api.putSource(fileId, randomBytes(2_000 + (fileId % 7) * 500));
  }

  const indexes = Array.from({ length: exportCount }, (_, index) => index);
  const accepted = await mapConcurrently(indexes, submitConcurrency, (index) =>
    createExport(api.url, pickSources(index)),
  );
  for (const { body } of accepted) {
    jobIds.push(body.jobId);
    joined.push((body as { joined?: boolean }).joined === true);
  }

  eventsConnection = new Redis(testServices.redisUrl, { maxRetriesPerRequest: null });
  queueEvents = new QueueEvents('exports', {
    connection: eventsConnection,
    prefix: `${api.config.redisPrefix}:bull`,
  });
  queueEvents.on('completed', ({ jobId }) => {
    queueCompletions.set(jobId, (queueCompletions.get(jobId) ?? 0) + 1);
  });
  await queueEvents.waitUntilReady();

  const following = await Promise.all(chunk(jobIds, idsPerStream).map(followStream));
  const workerEnv = {
    ...generousLimits,
    REDIS_PREFIX: api.config.redisPrefix,
    WORKER_CONCURRENCY: '8',
  };
  for (let index = 0; index < 2; index += 1) {
    const worker = await startService({ testServices, env: workerEnv });
    workers.push(worker);
    countUploads(worker, index);
  }

  streams = await Promise.all(following.map((stream) => stream()));
  // The record is stored as completed just before BullMQ marks the job completed, so the
  // last BullMQ event can arrive after the last stream has ended.
  await waitFor(() => (queueCompletions.size >= exportCount ? true : undefined), {
    timeoutMs: 15_000,
    description: `BullMQ completed events of ${exportCount} jobs`,
  }).catch(() => undefined);
}, deadlineMs + 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await queueEvents?.close();
  eventsConnection?.disconnect();
  for (const worker of workers) await worker.stop();
  await api?.stop();
  await testServices?.stop();
}, 60_000);

describe('1,000 exports at once', () => {
  it('accepts every export', () => {
    expect(new Set(jobIds).size).toBe(exportCount);
    expect(joined.some(Boolean)).toBe(false);
  });

  it('ends every stream', () => {
    const unfinished = streams.filter((stream) => !stream.ended);

    expect(unfinished).toHaveLength(0);
  });

  it('completes every export once', () => {
    const completions = countFrames('completed');
    const notOnce = jobIds.filter((jobId) => completions.get(jobId) !== 1);

    expect(notOnce).toEqual([]);
  });

  it('sends no other ending', () => {
    const expected = new Set(['progress', 'completed']);
    const others = allFrames().filter((frame) => !expected.has(frame.event ?? ''));

    expect(others.map((frame) => `${frame.event} ${frame.data.jobId}`)).toEqual([]);
  });

  it('completes each BullMQ job once', () => {
    const notOnce = jobIds.filter((jobId) => queueCompletions.get(jobId) !== 1);

    expect(notOnce).toEqual([]);
  });

  it('stores every record as completed', async () => {
    const records = await Promise.all(jobIds.map((jobId) => api.services.deps.records.get(jobId)));
    const notCompleted = records.filter((record) => record?.status !== 'completed');

    expect(notCompleted).toHaveLength(0);
  });

  it('never moves progress back', () => {
    const backwards = streams.flatMap((stream) => findBackwardSteps(stream.frames));

    expect(backwards).toEqual([]);
  });

  it('shows each export from the start', () => {
    // Streams opened before the workers started, so each export's first frame is queued.
    const firstFrames = new Map<string, ExportSnapshot>();
    for (const frame of allFrames()) {
      if (!firstFrames.has(frame.data.jobId)) firstFrames.set(frame.data.jobId, frame.data);
    }
    const lateStarts = [...firstFrames.values()].filter((snapshot) => snapshot.status !== 'queued');

    expect(lateStarts.map((snapshot) => snapshot.jobId)).toEqual([]);
  });

  it('shares the work between workers', () => {
    expect(uploadsPerWorker[0]).toBeGreaterThan(0);
    expect(uploadsPerWorker[1]).toBeGreaterThan(0);
    expect(uploadsPerWorker[0]! + uploadsPerWorker[1]!).toBe(exportCount);
  });
});

/** Counts the zips that `worker` uploads in `uploadsPerWorker[index]`. */
function countUploads(worker: RunningService, index: number): void {
  const store = worker.services.deps.store;
  const upload = store.upload.bind(store);
  uploadsPerWorker[index] = 0;
  // The first upload comes after several Redis and S3 round trips, so none is missed here.
  vi.spyOn(store, 'upload').mockImplementation(async (...args) => {
    uploadsPerWorker[index]! += 1;
    return upload(...args);
  });
}

/** Returns one or two of the sources, varied by `index`, so exports differ in size. */
function pickSources(index: number): number[] {
  const first = sourceIds[index % sourceIds.length]!;
  const second = sourceIds[(index * 7 + 3) % sourceIds.length]!;

  return index % 3 === 0 ? [first] : [first, second];
}

/** Opens the stream now and returns a function that collects its frames until it ends. */
async function followStream(ids: string[]): Promise<() => Promise<StreamResult>> {
  const url = `${api.url}/v1/exports/progress?ids=${ids.join(',')}`;
  const stream = await openSse(url, { timeoutMs: deadlineMs });
  if (stream.response.status !== 200) {
    throw new Error(`GET /v1/exports/progress returned ${stream.response.status}`);
  }

  return async () => {
    const frames: SnapshotFrame[] = [];
    try {
      for await (const frame of stream.frames) frames.push(frame);
      return { frames, ended: true };
    } catch {
      // The deadline aborted the request. The checks name the exports that did not end.
      return { frames, ended: false };
    }
  };
}

function allFrames(): SnapshotFrame[] {
  return streams.flatMap((stream) => stream.frames);
}

function countFrames(event: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const frame of allFrames()) {
    if (frame.event !== event) continue;

    counts.set(frame.data.jobId, (counts.get(frame.data.jobId) ?? 0) + 1);
  }

  return counts;
}

/**
 * Returns a line for each frame whose version, attempt, files or bytes are lower than the
 * export's previous frame on the same stream. A new attempt starts its progress from zero.
 */
function findBackwardSteps(frames: SnapshotFrame[]): string[] {
  const previous = new Map<string, ExportSnapshot>();
  const problems: string[] = [];

  for (const { data } of frames) {
    const before = previous.get(data.jobId);
    previous.set(data.jobId, data);
    if (!before) continue;

    const step = (name: string, from: number, to: number) => {
      if (to < from) problems.push(`${data.jobId} ${name} ${from} to ${to}`);
    };
    if (data.version <= before.version) {
      problems.push(`${data.jobId} version ${before.version} to ${data.version}`);
    }
    step('attempt', before.attempt, data.attempt);
    if (data.attempt !== before.attempt) continue;

    step('bytesDone', before.progress.bytesDone, data.progress.bytesDone);
    step('filesDone', before.progress.filesDone, data.progress.filesDone);
    step('percent', before.progress.percent, data.progress.percent);
  }

  return problems;
}

/** Calls `task` on every item with at most `limit` calls pending, and keeps the order. */
async function mapConcurrently<T, R>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runNext = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, runNext));

  return results;
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }

  return chunks;
}
