/** Export records and their change events in a Map, for unit tests. */
import type {
  CreateResult,
  JobEvents,
  JobRecords,
  ListPosition,
} from '../../functions/lib/ports.js';
import { PermanentJobError } from '../../runtime/contract/errors.js';
import { type ExportRecord, terminalStatuses } from '../../functions/lib/snapshot.js';

/** One live subscription: records waiting to be read and the reader waiting for them. */
interface Follower {
  pending: ExportRecord[];
  wake: (() => void) | undefined;
}

/**
 * Implements both JobRecords and JobEvents, as Redis does with one hash and one channel.
 * Records go through JSON on the way in and out, so fields set to `undefined` disappear as
 * they do in Redis, and no caller can change a stored record through a reference it holds.
 */
export class MemoryJobRecords implements JobRecords, JobEvents {
  private readonly records = new Map<string, ExportRecord>();
  private readonly versions = new Map<string, ExportRecord[]>();
  private readonly followers = new Map<string, Set<Follower>>();

  async create(record: ExportRecord, limits?: { maxActive: number }): Promise<CreateResult> {
    if (this.records.has(record.jobId)) {
      throw new Error(`An export with the id ${record.jobId} already exists`);
    }

    const activeBefore = this.countActive(record.owner);
    if (limits && activeBefore >= limits.maxActive) return { created: false, activeBefore };

    this.store(copy(record));
    return { created: true, activeBefore };
  }

  async get(jobId: string): Promise<ExportRecord | null> {
    const record = this.records.get(jobId);

    return record ? copy(record) : null;
  }

  async update(jobId: string, change: (current: ExportRecord) => ExportRecord) {
    const current = this.records.get(jobId);
    if (!current) {
      throw new PermanentJobError('record_missing', `Export ${jobId} has no record any more`);
    }

    const given = copy(current);
    const changed = change(given);
    if (changed === given) return copy(current);

    const next = copy({ ...changed, version: current.version + 1 });
    this.store(next);
    for (const follower of this.followers.get(jobId) ?? []) {
      follower.pending.push(copy(next));
      follower.wake?.();
    }

    return copy(next);
  }

  /** Counts an owner's exports that have not ended. */
  countActive(owner: string): number {
    return [...this.records.values()].filter(
      (record) => record.owner === owner && !terminalStatuses.has(record.status),
    ).length;
  }

  async listByOwner(owner: string, options: { after?: ListPosition; limit: number }) {
    const { after } = options;
    const comesAfter = (record: ExportRecord) => {
      if (!after) return true;
      const createdAt = Date.parse(record.createdAt);
      return createdAt < after.createdAt || (createdAt === after.createdAt && record.jobId < after.jobId);
    };

    return [...this.records.values()]
      .filter((record) => record.owner === owner && comesAfter(record))
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.jobId < b.jobId ? 1 : -1))
      .slice(0, options.limit)
      .map(copy);
  }

  async subscribe(jobId: string, signal: AbortSignal): Promise<AsyncIterable<ExportRecord>> {
    const follower: Follower = { pending: [], wake: undefined };
    const followers = this.followers.get(jobId) ?? new Set<Follower>();
    followers.add(follower);
    this.followers.set(jobId, followers);

    const remove = () => {
      followers.delete(follower);
      if (followers.size === 0) this.followers.delete(jobId);
      follower.wake?.();
    };
    if (signal.aborted) remove();
    signal.addEventListener('abort', remove, { once: true });

    return drain(follower, signal);
  }

  /** Counts the live subscriptions over all exports. */
  followerCount(): number {
    let count = 0;
    for (const followers of this.followers.values()) count += followers.size;

    return count;
  }

  /** Returns every version stored for `jobId`, oldest first. */
  history(jobId: string): ExportRecord[] {
    return (this.versions.get(jobId) ?? []).map(copy);
  }

  private store(record: ExportRecord): void {
    this.records.set(record.jobId, record);
    this.versions.set(record.jobId, [...(this.versions.get(record.jobId) ?? []), record]);
  }
}

async function* drain(follower: Follower, signal: AbortSignal): AsyncGenerator<ExportRecord> {
  while (!signal.aborted) {
    const record = follower.pending.shift();
    if (record) {
      yield record;
      continue;
    }

    await new Promise<void>((resolve) => {
      follower.wake = resolve;
    });
    follower.wake = undefined;
  }
}

function copy(record: ExportRecord): ExportRecord {
  return JSON.parse(JSON.stringify(record)) as ExportRecord;
}
