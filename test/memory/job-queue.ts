/** A job queue that only records what was enqueued, for unit tests. */
import type { EnqueueOptions, JobQueue } from '../../functions/lib/ports.js';

/** One `enqueue` call. */
export interface EnqueuedJob {
  name: string;
  data: unknown;
  options: EnqueueOptions;
}

export class MemoryJobQueue implements JobQueue {
  readonly jobs: EnqueuedJob[] = [];

  async enqueue(name: string, data: unknown, options: EnqueueOptions): Promise<void> {
    this.jobs.push({ name, data: structuredClone(data), options: { ...options } });
  }

  /** Returns the jobs enqueued under `name`, oldest first. */
  named(name: string): EnqueuedJob[] {
    return this.jobs.filter((job) => job.name === name);
  }
}
