/**
 * Export records in Redis, one hash per export holding its JSON and its version. A Lua
 * compare-and-set writes, sets the expiry and publishes in one step, touching one key, so it
 * runs unchanged on a Redis Cluster.
 */
import type { Redis } from 'ioredis';

import { PermanentJobError } from '../../runtime/contract/errors.js';
import type { JobRecords } from '../../functions/lib/ports.js';
import type { ExportRecord } from '../../functions/lib/snapshot.js';
import { asRedisError } from './unavailable.js';

// KEYS[1] record. ARGV: expected version (0 for a new record), new version, JSON, TTL in ms,
// channel. Returns 1 when written, 0 when the expected version no longer matches.
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

/** Where records and their change events live. */
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
  ) {}

  async create(record: ExportRecord): Promise<void> {
    const written = await this.write(record.jobId, 0, record);
    if (!written) throw new Error(`An export with the id ${record.jobId} already exists`);
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

      const next = { ...change(current), version: current.version + 1 };
      if (await this.write(jobId, current.version, next)) return next;
    }

    throw new Error(`Export ${jobId} kept changing during ${maxWriteRounds} write attempts`);
  }

  private async write(jobId: string, expected: number, record: ExportRecord): Promise<boolean> {
    const result = await this.redis
      .eval(
        compareAndSet,
        1,
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

  private key(jobId: string): string {
    return `${this.options.prefix}:export:${jobId}`;
  }
}
