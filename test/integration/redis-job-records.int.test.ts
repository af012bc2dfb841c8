/**
 * The Redis record store on a private redis-server: the exact cap on active exports under
 * concurrent creates from several connections, the release of a reservation whose record
 * write fails, and updates that skip the read after this process's own write.
 */
import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ExportRecord, newRecord } from '../../functions/lib/snapshot.js';
import type { LocalRedis } from '../../infra/local/redis-server.js';
import { RedisJobRecords } from '../../infra/redis/job-records.js';
import { migrateOwnerIndexes } from '../../infra/redis/owner-index-migration.js';
import { recordCommands, startPrivateRedis } from '../support/redis-commands.js';

let server: LocalRedis;
const connections: Redis[] = [];

beforeAll(async () => {
  server = await startPrivateRedis();
});

afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await server?.stop();
});

/** Stores of one prefix, each on its own connection, as in separate API processes. */
function newStores(count: number) {
  const prefix = `test_${randomBytes(6).toString('hex')}`;
  const stores = Array.from({ length: count }, () => {
    const connection = new Redis(server.url);
    connections.push(connection);
    const records = new RedisJobRecords(connection, { prefix, retentionSeconds: 3_600 });
    return { connection, records };
  });

  return { prefix, stores };
}

function record(jobId: string, owner: string) {
  return newRecord(jobId, [10_001], 3, new Date(), owner);
}

describe('RedisJobRecords.create', () => {
  it('caps concurrent creates exactly', async () => {
    const { stores } = newStores(3);
    const creates = Array.from({ length: 30 }, (_, index) =>
      stores[index % 3]!.records.create(record(`job-${index}`, 'alice'), { maxActive: 5 }),
    );
    const results = await Promise.all(creates);
    const listed = await stores[0]!.records.listByOwner('alice', { limit: 100 });

    expect(results.filter((result) => result.created)).toHaveLength(5);
    expect(listed).toHaveLength(5);
  });

  it('reports the active count at the cap', async () => {
    const { stores } = newStores(1);
    const { records } = stores[0]!;
    await records.create(record('first', 'bob'), { maxActive: 1 });
    const result = await records.create(record('second', 'bob'), { maxActive: 1 });

    expect(result).toEqual({ created: false, activeBefore: 1 });
    expect(await records.get('second')).toBeNull();
  });

  it('frees a slot when an export ends', async () => {
    const { stores } = newStores(1);
    const { records } = stores[0]!;
    await records.create(record('running', 'carol'), { maxActive: 1 });
    await records.update('running', (current) => ({ ...current, status: 'cancelled' }));
    const result = await records.create(record('next', 'carol'), { maxActive: 1 });

    expect(result.created).toBe(true);
  });

  it('rejects an id the owner has', async () => {
    const { prefix, stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await records.create(record('same', 'dave'));

    await expect(records.create(record('same', 'dave'))).rejects.toThrow(/already exists/);
    expect(await connection.zcard(`${prefix}:active-by-owner:{dave}`)).toBe(1);
  });

  it('releases the slot when the record write fails', async () => {
    const { prefix, stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await records.create(record('taken', 'erin'));

    await expect(records.create(record('taken', 'frank'))).rejects.toThrow(/already exists/);
    expect(await connection.zcard(`${prefix}:active-by-owner:{frank}`)).toBe(0);
    expect(await connection.zcard(`${prefix}:exports-by-owner:{frank}`)).toBe(0);
  });

  it('sends two commands', async () => {
    const { stores } = newStores(1);
    const { connection, records } = stores[0]!;
    // The first create loads both scripts, which takes more commands.
    await records.create(record('warm-up', 'grace'));
    const sent = recordCommands(connection);
    await records.create(record('measured', 'grace'));

    expect(sent).toEqual(['evalsha', 'evalsha']);
  });
});

describe('RedisJobRecords.update', () => {
  it('skips the read after its own write', async () => {
    const { stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await records.create(record('own', 'heidi'));
    const sent = recordCommands(connection);
    const updated = await records.update('own', (current) => ({ ...current, status: 'processing' }));

    expect(sent).toEqual(['evalsha']);
    expect(updated.version).toBe(2);
    expect((await records.get('own'))?.status).toBe('processing');
  });

  it('reads again after another writer', async () => {
    const { stores } = newStores(2);
    const [mine, theirs] = [stores[0]!.records, stores[1]!.records];
    await mine.create(record('shared', 'ivan'));
    await theirs.update('shared', (current) => ({ ...current, attempt: 2 }));
    const progress = (current: ExportRecord) => ({
      ...current,
      progress: { ...current.progress, percent: 50 },
    });
    const updated = await mine.update('shared', progress);

    expect(updated.attempt).toBe(2);
    expect(updated.progress.percent).toBe(50);
    expect(updated.version).toBe(3);
  });

  it('checks "no change" on a fresh read', async () => {
    const { stores } = newStores(2);
    const [mine, theirs] = [stores[0]!.records, stores[1]!.records];
    await mine.create(record('unchanged', 'judy'));
    await theirs.update('unchanged', (current) => ({ ...current, status: 'cancelled' }));
    const seen = await mine.update('unchanged', (current) => current);

    expect(seen.status).toBe('cancelled');
    expect(seen.version).toBe(2);
  });
});

// The previous release named the owner indexes without a hash tag, and they live as long as the
// records, so exports created before an upgrade stay in those keys until a worker start moves them.
describe('owner indexes from before the hash tag', () => {
  async function createInOldLayout(prefix: string, connection: Redis, records: RedisJobRecords) {
    await records.create(record('before-upgrade', 'kim'));
    await connection.rename(`${prefix}:exports-by-owner:{kim}`, `${prefix}:exports-by-owner:kim`);
    await connection.rename(`${prefix}:active-by-owner:{kim}`, `${prefix}:active-by-owner:kim`);
  }

  it('lists exports created before', async () => {
    const { prefix, stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await createInOldLayout(prefix, connection, records);
    await migrateOwnerIndexes(connection, prefix);
    const listed = await records.listByOwner('kim', { limit: 10 });

    expect(listed.map((listedRecord) => listedRecord.jobId)).toEqual(['before-upgrade']);
  });

  it('counts running exports created before', async () => {
    const { prefix, stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await createInOldLayout(prefix, connection, records);
    await migrateOwnerIndexes(connection, prefix);
    const result = await records.create(record('after-upgrade', 'kim'), { maxActive: 1 });

    expect(result.created).toBe(false);
  });

  it('moves each old key once and deletes it', async () => {
    const { prefix, stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await createInOldLayout(prefix, connection, records);

    expect(await migrateOwnerIndexes(connection, prefix)).toBe(2);
    expect(await migrateOwnerIndexes(connection, prefix)).toBe(0);
    expect(await connection.exists(`${prefix}:exports-by-owner:kim`)).toBe(0);
  });

  it('merges into an index written since the upgrade', async () => {
    const { prefix, stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await createInOldLayout(prefix, connection, records);
    await records.create(record('after-upgrade', 'kim'));
    await migrateOwnerIndexes(connection, prefix);
    const listed = await records.listByOwner('kim', { limit: 10 });

    expect(listed.map((listedRecord) => listedRecord.jobId).sort()).toEqual([
      'after-upgrade',
      'before-upgrade',
    ]);
  });

  it('keeps an expiry on the merged index', async () => {
    const { prefix, stores } = newStores(1);
    const { connection, records } = stores[0]!;
    await createInOldLayout(prefix, connection, records);
    await migrateOwnerIndexes(connection, prefix);

    expect(await connection.pttl(`${prefix}:exports-by-owner:{kim}`)).toBeGreaterThan(0);
  });
});
