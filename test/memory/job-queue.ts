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

  /** Removes a waiting job; set `running` to the ids a worker holds, which cannot go. */
  readonly running = new Set<string>();

  async remove(jobId: string): Promise<boolean> {
    const index = this.jobs.findIndex((job) => job.options.jobId === jobId);
    if (index < 0 || this.running.has(jobId)) return false;

    this.jobs.splice(index, 1);
    return true;
  }

  /** Returns the jobs enqueued under `name`, oldest first. */
  named(name: string): EnqueuedJob[] {
    return this.jobs.filter((job) => job.name === name);
  }
}
