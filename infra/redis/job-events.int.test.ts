import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { newRecord } from '../../functions/lib/snapshot.js';
import type { LocalRedis } from '../local/redis-server.js';
import { startPrivateRedis } from '../../test/support/redis-commands.js';
import { RedisJobEvents } from './job-events.js';
import { RedisJobRecords } from './job-records.js';

let server: LocalRedis;
const connections: Redis[] = [];

beforeAll(async () => {
  server = await startPrivateRedis();
});

afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await server.stop();
});

function connect(): Redis {
  const connection = new Redis(server.url);
  connections.push(connection);
  return connection;
}

it('catches up on changes missed while reconnecting', async () => {
  const [commands, subscriber] = [connect(), connect()];
  const records = new RedisJobRecords(commands, { prefix: 'catch-up', retentionSeconds: 60 });
  const events = new RedisJobEvents(subscriber, 'catch-up', (jobId) => records.get(jobId));
  await records.create(newRecord('job-1', [10_001], 3, new Date()));
  const updates = await events.subscribe('job-1', new AbortController().signal);

  // The change is published while the subscriber's connection is gone, so no message reaches it.
  await commands.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  const completed = await records.update('job-1', (record) => ({ ...record, status: 'completed' }));
  const received = await updates[Symbol.asyncIterator]().next();

  expect(received.done).toBe(false);
  expect(received.value?.version).toBe(completed.version);
  expect(received.value?.status).toBe('completed');
});
