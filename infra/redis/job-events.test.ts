import { describe, expect, it } from 'vitest';

import { type ExportRecord, type ExportStatus, newRecord } from '../../functions/lib/snapshot.js';
import { MemoryRedisSubscriber } from '../../test/memory/redis-subscriber.js';
import { RedisJobEvents } from './job-events.js';

const jobId = '6f1c7d52-3a4b-4f7e-9c1d-2b3a4c5d6e7f';

function recordAt(version: number, status: ExportStatus = 'processing'): ExportRecord {
  return { ...newRecord(jobId, [10001], 3, new Date(0)), version, status };
}

async function setup() {
  const subscriber = new MemoryRedisSubscriber();
  const events = new RedisJobEvents(subscriber.asRedis(), 'test');
  const controller = new AbortController();
  const subscribe = async () => {
    const updates = await events.subscribe(jobId, controller.signal);
    return updates[Symbol.asyncIterator]();
  };

  return { subscriber, events, controller, subscribe };
}

/** Reads `count` records, failing fast instead of hanging when fewer are waiting. */
async function read(updates: AsyncIterator<ExportRecord>, count: number) {
  const records: ExportRecord[] = [];
  for (let index = 0; index < count; index++) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Record ${index + 1} of ${count} never came`)), 1_000);
    });
    const next = await Promise.race([updates.next(), timeout]).finally(() => clearTimeout(timer));
    if (next.done) break;
    records.push(next.value);
  }

  return records;
}

describe('RedisJobEvents', () => {
  it('keeps only the newest waiting progress record', async () => {
    const { subscriber, controller, subscribe } = await setup();
    const updates = await subscribe();
    for (const version of [2, 3, 4]) subscriber.publish(recordAt(version));
    const [record] = await read(updates, 1);
    controller.abort();

    expect(record?.version).toBe(4);
  });

  it('never drops a waiting terminal record', async () => {
    const { subscriber, controller, subscribe } = await setup();
    const updates = await subscribe();
    subscriber.publish(recordAt(2));
    subscriber.publish(recordAt(3, 'completed'));
    subscriber.publish(recordAt(4, 'expired'));
    const records = await read(updates, 2);
    controller.abort();

    expect(records.map((record) => record.version)).toEqual([3, 4]);
    expect(records.map((record) => record.status)).toEqual(['completed', 'expired']);
  });

  it('keeps a newer waiting record over an older one', async () => {
    const { subscriber, controller, subscribe } = await setup();
    const updates = await subscribe();
    subscriber.publish(recordAt(5));
    subscriber.publish(recordAt(4));
    const records = await read(updates, 2);
    controller.abort();

    expect(records.map((record) => record.version)).toEqual([5, 4]);
  });

  it('hands every follower the same record object', async () => {
    const { subscriber, controller, subscribe } = await setup();
    const first = await subscribe();
    const second = await subscribe();
    subscriber.publish(recordAt(2));
    const [fromFirst] = await read(first, 1);
    const [fromSecond] = await read(second, 1);
    controller.abort();

    expect(fromFirst).toBeDefined();
    expect(fromSecond).toBe(fromFirst);
  });

  it('drops followers on abort', async () => {
    const { events, controller, subscribe } = await setup();
    await subscribe();
    controller.abort();

    expect(events.followerCount()).toBe(0);
  });

  it('keeps no follower for an aborted signal', async () => {
    const { events, controller } = await setup();
    // The client of an SSE stream can leave while the function still reads the record.
    controller.abort();
    await events.subscribe(jobId, controller.signal);

    expect(events.followerCount()).toBe(0);
  });

  it('keeps no follower when aborted while subscribing', async () => {
    const { events, controller } = await setup();
    const subscribing = events.subscribe(jobId, controller.signal);
    controller.abort();
    await subscribing;

    expect(events.followerCount()).toBe(0);
  });
});
