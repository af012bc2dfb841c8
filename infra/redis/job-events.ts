/**
 * Live record changes for SSE streams. One subscriber connection per process listens on one
 * channel and hands each message to the streams following that export, so the number of open
 * streams never changes the number of Redis subscriptions.
 */
import type { Redis } from 'ioredis';

import type { JobEvents } from '../../functions/lib/ports.js';
import { type ExportRecord, terminalStatuses } from '../../functions/lib/snapshot.js';
import { AsyncQueue } from './async-queue.js';
import { eventsChannel } from './job-records.js';

/** Reads the stored record of an export, for catching up after a reconnect. */
export type RecordReader = (jobId: string) => Promise<ExportRecord | null>;

export class RedisJobEvents implements JobEvents {
  private readonly followers = new Map<string, Set<AsyncQueue<ExportRecord>>>();
  private subscribed: Promise<unknown> | undefined;
  private connectedBefore = false;

  /**
   * `readRecord`, when given, is called for every followed export after the subscriber
   * reconnects, because messages published while it was away are lost.
   */
  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly readRecord?: RecordReader,
  ) {
    subscriber.on('message', (_channel: string, message: string) => this.dispatch(message));
    subscriber.on('ready', () => {
      if (this.connectedBefore) void this.catchUp();
      this.connectedBefore = true;
    });
  }

  async subscribe(jobId: string, signal: AbortSignal): Promise<AsyncIterable<ExportRecord>> {
    this.subscribed ??= this.subscriber.subscribe(eventsChannel(this.prefix));
    await this.subscribed;

    const queue = new AsyncQueue<ExportRecord>(signal, { supersedes });
    // An abort that came first never fires the listener below, so the queue would stay for good.
    if (signal.aborted) return queue;

    const followers = this.followers.get(jobId) ?? new Set();
    followers.add(queue);
    this.followers.set(jobId, followers);

    signal.addEventListener('abort', () => this.remove(jobId, queue), { once: true });

    return queue;
  }

  /** Returns the number of streams following an export, for tests and metrics. */
  followerCount(): number {
    let count = 0;
    for (const followers of this.followers.values()) count += followers.size;

    return count;
  }

  private dispatch(message: string): void {
    this.deliver(JSON.parse(message) as ExportRecord);
  }

  private deliver(record: ExportRecord): void {
    const followers = this.followers.get(record.jobId);
    if (!followers) return;

    for (const queue of followers) queue.push(record);
  }

  /**
   * Hands every followed export's stored record to its followers. The subscription is
   * confirmed first, so a change after the read arrives as a message. Followers skip versions
   * they already have, so a record that did not change in the meantime is harmless.
   */
  private async catchUp(): Promise<void> {
    if (!this.readRecord || !this.subscribed) return;

    try {
      await this.subscriber.subscribe(eventsChannel(this.prefix));
      const jobIds = [...this.followers.keys()];
      const records = await Promise.all(jobIds.map((jobId) => this.readRecord!(jobId)));
      for (const record of records) if (record) this.deliver(record);
    } catch {
      // Redis went away again; the next reconnect tries once more.
    }
  }

  private remove(jobId: string, queue: AsyncQueue<ExportRecord>): void {
    const followers = this.followers.get(jobId);
    followers?.delete(queue);
    if (followers?.size === 0) this.followers.delete(jobId);
  }
}

/**
 * Keeps at most one waiting record that has not ended, because each record is the whole state
 * and a slow stream may skip to the newest one. A terminal record is never dropped, because it
 * is the last one a follower reads.
 */
function supersedes(waiting: ExportRecord, incoming: ExportRecord): boolean {
  return !terminalStatuses.has(waiting.status) && incoming.version > waiting.version;
}
