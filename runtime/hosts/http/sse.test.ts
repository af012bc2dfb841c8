import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { httpFunctions } from '../../../functions/index.js';
import { newRecord, type ExportRecord } from '../../../functions/lib/snapshot.js';
import { RedisJobEvents } from '../../../infra/redis/job-events.js';
import { memoryDeps } from '../../../test/memory/deps.js';
import { maxBodyBytes } from '../../../test/memory/http-app.js';
import { MemoryLogger } from '../../../test/memory/logger.js';
import { MemoryRedisSubscriber } from '../../../test/memory/redis-subscriber.js';
import { readSseFrames } from '../../../test/support/sse-reader.js';
import { createHttpApp } from './app.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Builds the HTTP app over memory records, with live events going through RedisJobEvents. */
async function setup() {
  const subscriber = new MemoryRedisSubscriber();
  const deps = { ...memoryDeps(), events: new RedisJobEvents(subscriber.asRedis(), 'test') };
  const app = createHttpApp(httpFunctions, {
    deps,
    logger: new MemoryLogger(),
    maxBodyBytes,
    sseHeartbeatMs: 60_000,
  });
  const exportId = randomUUID();
  await deps.records.create(newRecord(exportId, [10001], 3, new Date(deps.clock.now())));

  const follow = () => app.request(`/v1/export/${exportId}/progress`);
  const publishProgress = async (percent: number) => {
    const record = await deps.records.update(exportId, (current) => ({
      ...current,
      status: 'processing',
      progress: { ...current.progress, percent },
    }));
    subscriber.publish(record);

    return record;
  };

  return { follow, publishProgress };
}

/** Matches the client's snapshot of `record`, which unlike the stored record has no file ids. */
function isSnapshotOf(record: ExportRecord) {
  return (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    !('fileIds' in value) &&
    (value as ExportRecord).jobId === record.jobId &&
    (value as ExportRecord).version === record.version;
}

describe('SSE fan-out', () => {
  it('serialises each version once for all streams', async () => {
    const { follow, publishProgress } = await setup();
    const streams = [readSseFrames(await follow()), readSseFrames(await follow())];
    for (const stream of streams) await stream.next();

    const stringify = vi.spyOn(JSON, 'stringify');
    const record = await publishProgress(40);
    const frames = await Promise.all(streams.map((stream) => stream.next()));
    for (const stream of streams) await stream.cancel();
    const calls = stringify.mock.calls.filter(([value]) => isSnapshotOf(record)(value));

    expect(frames[0]?.data).toContain('"percent":40');
    expect(frames[1]?.data).toBe(frames[0]?.data);
    expect(calls).toHaveLength(1);
  });
});
