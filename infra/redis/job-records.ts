/**
 * Export records in Redis, one hash per export holding its JSON and its version. A Lua
 * compare-and-set writes, sets the expiry and publishes in one step, touching one key, so it
 * runs unchanged on a Redis Cluster.
 */
import type { Redis } from 'ioredis';

import { PermanentJobError } from '../../runtime/contract/errors.js';
import type { JobRecords, ListPosition } from '../../functions/lib/ports.js';
import { type ExportRecord, terminalStatuses } from '../../functions/lib/snapshot.js';
import { asRedisError } from './unavailable.js';

// KEYS[1] record. ARGV: expected version (0 for a new record), new version, JSON, TTL in ms,
// channel. Returns 1 when written, 0 when the expected version no longer matches.
// NOTE: the owner index is written by a separate command, not by this script, because a
// script may only touch keys in one Cluster slot and the index lives in another.
const compareAndSet = `
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[3])
return 1
`;

/** Conflicting writers are rare (one worker owns a job), so a few rounds always settle. */
const maxWriteRounds = 10;

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
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisRecordsOptions,
  ) {
    // A defined command goes out as EVALSHA, so the script text is not sent on every write.
    if (!('exportCompareAndSet' in redis)) {
      redis.defineCommand('exportCompareAndSet', { numberOfKeys: 1, lua: compareAndSet });
    }
  }

  async create(record: ExportRecord): Promise<void> {
    const written = await this.write(record.jobId, 0, record);
    if (!written) throw new Error(`An export with the id ${record.jobId} already exists`);

    const createdAt = Date.parse(record.createdAt);
    const oldest = createdAt - this.options.retentionSeconds * 1000;
    const index = this.ownerKey(record.owner);
    // Entries older than the record retention point at expired records, so they go too.
    const active = this.activeKey(record.owner);
    await this.redis
      .multi()
      .zadd(index, createdAt, record.jobId)
      .zremrangebyscore(index, '-inf', `(${oldest}`)
      .pexpire(index, this.options.retentionSeconds * 1000)
      .zadd(active, createdAt, record.jobId)
      .pexpire(active, this.options.retentionSeconds * 1000)
      .exec()
      .catch(asRedisError);
  }

  async countActive(owner: string): Promise<number> {
    const oldest = Date.now() - this.options.retentionSeconds * 1000;
    const key = this.activeKey(owner);
    // An entry whose record expired before it ended would count for ever without the trim.
    const results = await this.redis
      .multi()
      .zremrangebyscore(key, '-inf', `(${oldest}`)
      .zcard(key)
      .exec()
      .catch(asRedisError);

    return Number(results?.[1]?.[1] ?? 0);
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
    for (let round = 0; round < maxWriteRounds; round++) {
      const current = await this.get(jobId);
      if (!current) {
        throw new PermanentJobError('record_missing', `Export ${jobId} has no record any more`);
      }

      const changed = change(current);
      // Returning the record itself means "no change", so nothing is written or published.
      if (changed === current) return current;

      const next = { ...changed, version: current.version + 1 };
      if (await this.write(jobId, current.version, next)) {
        if (terminalStatuses.has(next.status)) await this.markEnded(next);
        return next;
      }
    }

    throw new Error(`Export ${jobId} kept changing during ${maxWriteRounds} write attempts`);
  }

  private async write(jobId: string, expected: number, record: ExportRecord): Promise<boolean> {
    const redis = this.redis as Redis & { exportCompareAndSet(...args: string[]): Promise<number> };
    const result = await redis
      .exportCompareAndSet(
        this.key(jobId),
        String(expected),
        String(record.version),
        JSON.stringify(record),
        String(this.options.retentionSeconds * 1000),
        eventsChannel(this.options.prefix),
      )
      .catch(asRedisError);

    return result === 1;
  }

  private async markEnded(record: ExportRecord): Promise<void> {
    await this.redis.zrem(this.activeKey(record.owner), record.jobId).catch(asRedisError);
  }

  private activeKey(owner: string): string {
    return `${this.options.prefix}:active-by-owner:${owner}`;
  }

  private ownerKey(owner: string): string {
    return `${this.options.prefix}:exports-by-owner:${owner}`;
  }

  private key(jobId: string): string {
    return `${this.options.prefix}:export:${jobId}`;
  }
}
