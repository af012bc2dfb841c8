import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { eventsChannel } from '../../infra/redis/job-records.js';
import type { RedisJobEvents } from '../../infra/redis/job-events.js';
import { createExport, getSnapshot, waitFor, waitForEnd } from '../support/api.js';
import { holdCalls } from '../support/hold-calls.js';
import { type ReadGate, holdSourceReads } from '../support/hold-reads.js';
import { type RunningService, startService } from '../support/service.js';
import { openSse, readSse, type SseStream } from '../support/sse.js';

const fileId = 96_001;
const streamCount = 5;

let service: RunningService;
let events: RedisJobEvents;
let redis: Redis;
let readGate: ReadGate | undefined;

/**
 * Followers that are not SSE streams: the held export's job, running in this process's worker,
 * follows its own record to notice a cancellation.
 */
const jobWatchers = 1;

beforeAll(async () => {
  service = await startService();
  events = service.services.deps.events as RedisJobEvents;
  redis = new Redis(service.testServices.redisUrl, { maxRetriesPerRequest: 1 });
  await service.putSource(fileId, randomBytes(200_000));
});

function releaseReads(): void {
  readGate?.release();
  readGate?.restore();
  readGate = undefined;
}

afterAll(async () => {
  redis?.disconnect();
  await service?.stop();
});

describe('open streams', () => {
  let streams: SseStream[] = [];

  beforeAll(async () => {
    const { progressUrl } = await startHeldExport();
    streams = await Promise.all(
      Array.from({ length: streamCount }, () => openSse(`${service.url}${progressUrl}`)),
    );
  });

  // The export stays held for the whole block, so its job's watcher counts in every test.
  afterAll(() => {
    for (const stream of streams) stream.abort();
    releaseReads();
  });

  it('have one follower each', () => {
    expect(events.followerCount()).toBe(streamCount + jobWatchers);
  });

  it('share one Redis subscription', async () => {
    const channel = eventsChannel(service.config.redisPrefix);
    const [, subscribers] = (await redis.pubsub('NUMSUB', channel)) as [string, number];

    expect(subscribers).toBe(1);
  });

  it('share one subscriber connection', async () => {
    const clients = (await redis.client('LIST')) as string;
    const subscribed = clients.split('\n').filter((line) => /\bsub=[1-9]/.test(line));

    expect(subscribed).toHaveLength(1);
  });

  it('drop followers on abort', async () => {
    streams[0]!.abort();
    streams[1]!.abort();

    const left = streamCount - 2 + jobWatchers;

    expect(await waitForFollowers(left)).toBe(left);
  });

  it('drop every follower', async () => {
    for (const stream of streams) stream.abort();

    expect(await waitForFollowers(jobWatchers)).toBe(jobWatchers);
  });
});

describe('follower clean-up', () => {
  afterEach(releaseReads);

  it('follows an abort before the first frame', async () => {
    const { current, progressUrl } = await startHeldExport();
    // An export of an earlier test may still be ending; start from the held job's watcher alone.
    await waitForFollowers(jobWatchers);
    const controller = new AbortController();
    // Up to date, so the server waits for a live frame before it sends the headers.
    const pending = fetch(`${service.url}${progressUrl}`, {
      headers: { 'Last-Event-ID': String(current.version) },
      signal: controller.signal,
    }).catch(() => undefined);
    await waitForFollowers(1 + jobWatchers);

    controller.abort();
    await pending;

    expect(await waitForFollowers(jobWatchers)).toBe(jobWatchers);
  });

  it('follows a completed stream', async () => {
    const { body } = await createExport(service.url, [fileId]);
    const { frames } = await readSse(`${service.url}${body.progressUrl}`);

    expect(frames.at(-1)?.event).toBe('completed');
    expect(await waitForFollowers(0)).toBe(0);
  });

  it('follows a 204', async () => {
    const { body } = await createExport(service.url, [fileId]);
    const final = await waitForEnd(service.url, body.jobId);
    const headers = { 'Last-Event-ID': String(final.version) };

    const stream = await openSse(`${service.url}${body.progressUrl}`, { headers });

    expect(stream.response.status).toBe(204);
    expect(await waitForFollowers(0)).toBe(0);
  });

  it('follows a 404', async () => {
    const unknownId = '6f1b7a3e-2c4d-4e5f-8a9b-0c1d2e3f4a5b';
    const response = await fetch(`${service.url}/v1/export/${unknownId}/progress`);
    await response.body?.cancel();

    expect(response.status).toBe(404);
    expect(await waitForFollowers(0)).toBe(0);
  });
});

describe('follower clean-up of early leavers', () => {
  it('follows a client gone before the handler', async () => {
    const unknownId = '0d9c4a7e-5b6f-4c3d-8e2a-1f0b9c8d7e6a';
    await waitForFollowers(0);
    // The client leaves while the request waits for its rate limit, so the function starts
    // with a signal that has already aborted.
    const limitGate = holdCalls(service.services.rateLimiter, 'hit');
    const controller = new AbortController();
    const pending = fetch(`${service.url}/v1/export/${unknownId}/progress`, {
      signal: controller.signal,
    }).catch(() => undefined);
    await limitGate.reached;
    controller.abort();
    await pending;
    // Long enough for the API to see the closed socket before the request goes on.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The function subscribes before it reads the record, so a held read means it subscribed.
    const recordGate = holdCalls(service.services.deps.records, 'get');
    limitGate.release();
    limitGate.restore();
    await recordGate.reached;
    recordGate.release();
    recordGate.restore();

    expect(await waitForFollowers(0)).toBe(0);
  });
});

/** Starts an export whose source reads wait at a gate, and returns its snapshot at the gate. */
async function startHeldExport() {
  readGate = holdSourceReads(service.services.deps.store);
  const { body } = await createExport(service.url, [fileId]);
  await readGate.reached;
  const current = await getSnapshot(service.url, body.statusUrl);

  return { current, progressUrl: body.progressUrl };
}

/** Waits until the API process has `count` followers and returns the count. */
function waitForFollowers(count: number): Promise<number> {
  return waitFor(() => (events.followerCount() === count ? count : undefined), {
    // Generous, because a loaded CI machine can take seconds to notice a closed socket.
    timeoutMs: 15_000,
    description: `${count} SSE followers`,
  });
}
