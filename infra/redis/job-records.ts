/**
 * Export records in Redis, one hash per export holding its JSON and its version. A Lua
 * compare-and-set writes, sets the expiry and publishes in one step. Two sorted sets per owner
 * index its exports and its active ones. Each script touches keys of one Cluster slot only.
 */
import type { Redis } from 'ioredis';

import { PermanentJobError } from '../../runtime/contract/errors.js';
import type { CreateResult, JobRecords, ListPosition } from '../../functions/lib/ports.js';
import { type ExportRecord, terminalStatuses } from '../../functions/lib/snapshot.js';
import { compareAndSet, reserveActive } from './job-record-scripts.js';
import { RecentWrites } from './recent-writes.js';
import { asRedisError } from './unavailable.js';

/** Conflicting writers are rare (one worker owns a job), so a few rounds always settle. */
const maxWriteRounds = 10;

/**
 * Records whose last write this process remembers. A record's JSON is at most about 15 KB
 * (1,000 file ids), so the cache stays under about 4 MB.
 */
const recentWritesMax = 256;

/** The status values that the `reserveActive` script returns. */
const reserveStatus = { reserved: 1, atMax: 0, duplicate: -1 } as const;

type ScriptedRedis = Redis & {
  exportCompareAndSet(...args: string[]): Promise<number>;
  exportReserveActive(...args: string[]): Promise<[number, number]>;
};

/** Options of the record store: key prefix and retention. */
export interface RedisRecordsOptions {
  prefix: string;
  retentionSeconds: number;
}

/** Returns the channel that carries every record change of a prefix. */
export function eventsChannel(prefix: string): string {
  return `${prefix}:export-events`;
}

export class RedisJobRecords implements JobRecords {
  private readonly recentWrites = new RecentWrites(recentWritesMax);

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisRecordsOptions,
  ) {
    // A defined command goes out as EVALSHA, so the script text is not sent on every write.
    if (!('exportCompareAndSet' in redis)) {
      redis.defineCommand('exportCompareAndSet', { numberOfKeys: 1, lua: compareAndSet });
    }
    if (!('exportReserveActive' in redis)) {
      redis.defineCommand('exportReserveActive', { numberOfKeys: 2, lua: reserveActive });
    }
  }

  async create(record: ExportRecord, limits?: { maxActive: number }): Promise<CreateResult> {
    const maxActive = limits?.maxActive ?? Number.MAX_SAFE_INTEGER;
    const [status, activeBefore] = await this.reserve(record, maxActive);
    if (status === reserveStatus.duplicate) {
      throw new Error(`An export with the id ${record.jobId} already exists`);
    }
    if (status === reserveStatus.atMax) return { created: false, activeBefore };

    try {
      const written = await this.write(record.jobId, 0, record);
      if (!written) throw new Error(`An export with the id ${record.jobId} already exists`);
    } catch (error) {
      // NOTE: when the release fails as well, the slot stays taken until the retention trims it.
      await this.release(record).catch(() => undefined);
      throw error;
    }

    return { created: true, activeBefore };
  }

  async listByOwner(
    owner: string,
    options: { after?: ListPosition; limit: number },
  ): Promise<ExportRecord[]> {
    const { after, limit } = options;
    // Equal creation times come in descending id order, so the ones up to `after.jobId` were
    // on earlier pages. NOTE: over 100 exports created in one millisecond can cut a page short.
    const fetched = await this.redis
      .zrange(this.ownerKey(owner), after?.createdAt ?? '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, limit + 100, 'WITHSCORES')
      .catch(asRedisError);
    const ids: string[] = [];
    for (let index = 0; index < fetched.length && ids.length < limit; index += 2) {
      const jobId = fetched[index]!;
      const createdAt = Number(fetched[index + 1]);
      if (after && createdAt === after.createdAt && jobId >= after.jobId) continue;
      ids.push(jobId);
    }
    const records = await Promise.all(ids.map((id) => this.get(id)));

    return records.filter((record): record is ExportRecord => record !== null);
  }

  async get(jobId: string): Promise<ExportRecord | null> {
    const data = await this.redis.hget(this.key(jobId), 'data').catch(asRedisError);

    return data ? (JSON.parse(data) as ExportRecord) : null;
  }

  async update(
    jobId: string,
    change: (current: ExportRecord) => ExportRecord,
  ): Promise<ExportRecord> {
    let remembered = this.recentWrites.take(jobId);
    for (let round = 0; round < maxWriteRounds; round++) {
      const fromCache = remembered !== undefined;
      const current =
        remembered === undefined ? await this.get(jobId) : (JSON.parse(remembered) as ExportRecord);
      remembered = undefined;
      if (!current) {
        throw new PermanentJobError('record_missing', `Export ${jobId} has no record any more`);
      }

      const changed = change(current);
      // Returning the record itself means "no change", so nothing is written or published.
      // A cached version may be out of date, so only a fresh read can tell that.
      if (changed === current) {
        if (fromCache) continue;
        return current;
      }

      const next = { ...changed, version: current.version + 1 };
      if (await this.write(jobId, current.version, next)) {
        if (terminalStatuses.has(next.status)) await this.markEnded(next);
        return next;
      }
    }

    throw new Error(`Export ${jobId} kept changing during ${maxWriteRounds} write attempts`);
  }

  private async reserve(record: ExportRecord, maxActive: number): Promise<[number, number]> {
    const createdAt = Date.parse(record.createdAt);
    const retentionMs = this.options.retentionSeconds * 1000;
    const [status, active] = await (this.redis as ScriptedRedis)
      .exportReserveActive(
        this.activeKey(record.owner),
        this.ownerKey(record.owner),
        record.jobId,
        String(createdAt),
        String(createdAt - retentionMs),
        String(retentionMs),
        String(maxActive),
      )
      .catch(asRedisError);

    return [Number(status), Number(active)];
  }

  private async release(record: ExportRecord): Promise<void> {
    await this.redis
      .multi()
      .zrem(this.activeKey(record.owner), record.jobId)
      .zrem(this.ownerKey(record.owner), record.jobId)
      .exec()
      .catch(asRedisError);
  }

  private async write(jobId: string, expected: number, record: ExportRecord): Promise<boolean> {
    const json = JSON.stringify(record);
    const result = await (this.redis as ScriptedRedis)
      .exportCompareAndSet(
        this.key(jobId),
        String(expected),
        String(record.version),
        json,
        String(this.options.retentionSeconds * 1000),
        eventsChannel(this.options.prefix),
      )
      .catch(asRedisError);
    if (result !== 1) return false;

    this.recentWrites.remember(jobId, json);
    return true;
  }

  private async markEnded(record: ExportRecord): Promise<void> {
    await this.redis.zrem(this.activeKey(record.owner), record.jobId).catch(asRedisError);
  }

  // The owner is the hash tag of both index keys, so one script can touch both on a Cluster.
  private activeKey(owner: string): string {
    return `${this.options.prefix}:active-by-owner:{${owner}}`;
  }

  private ownerKey(owner: string): string {
    return `${this.options.prefix}:exports-by-owner:{${owner}}`;
  }

  private key(jobId: string): string {
    return `${this.options.prefix}:export:${jobId}`;
  }
}
