/**
 * The JSON of the last version of each record that this process wrote, so an update can try
 * its compare-and-set without reading the record first. It is a cache: a stale entry only
 * makes the compare-and-set fail, and the update then reads the record.
 */

/** Bounded map from job id to the record JSON last written, dropping the least recently used. */
export class RecentWrites {
  private readonly entries = new Map<string, string>();

  constructor(private readonly maxEntries: number) {}

  remember(jobId: string, json: string): void {
    // A Map iterates in insertion order, so re-inserting moves the id to the newest end.
    this.entries.delete(jobId);
    this.entries.set(jobId, json);
    if (this.entries.size <= this.maxEntries) return;

    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }

  /** Returns the entry and removes it, because the caller's write replaces it. */
  take(jobId: string): string | undefined {
    const json = this.entries.get(jobId);
    this.entries.delete(jobId);

    return json;
  }

  get size(): number {
    return this.entries.size;
  }
}
