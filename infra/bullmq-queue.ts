/** The JobQueue port over BullMQ. */
import { type ConnectionOptions, Queue, type Telemetry } from 'bullmq';

import type { EnqueueOptions, JobQueue } from '../functions/lib/ports.js';
import { BackendUnavailableError } from '../runtime/contract/errors.js';

/** Queue options: the connection, key prefix, retry backoff and trace carrier. */
export interface BullQueueOptions {
  connection: ConnectionOptions;
  prefix: string;
  backoffMs: number;
  /** Starts an enqueue span that the worker's run continues; unset records no spans. */
  telemetry?: Telemetry;
}

/** Failed entries stay a day for inspection; the export record keeps the reason for longer. */
const failedRetentionSeconds = 24 * 3_600;

export class BullJobQueue implements JobQueue {
  /** The BullMQ queue itself, for the dashboard. */
  readonly queue: Queue;
  private readonly backoffMs: number;

  constructor(name: string, options: BullQueueOptions) {
    this.queue = new Queue(name, {
      connection: options.connection,
      prefix: options.prefix,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    });
    // The connection's own listener logs outages once; BullMQ would print every retry.
    this.queue.on('error', () => undefined);
    this.backoffMs = options.backoffMs;
  }

  async enqueue(jobName: string, data: unknown, options: EnqueueOptions): Promise<void> {
    try {
      await this.queue.add(jobName, data, {
        jobId: options.jobId,
        attempts: options.attempts,
        backoff: { type: 'exponential', delay: this.backoffMs },
        ...(options.delayMs ? { delay: options.delayMs } : {}),
        removeOnComplete: true,
        removeOnFail: { age: failedRetentionSeconds },
      });
    } catch (error) {
      throw new BackendUnavailableError('queue', `Could not enqueue ${jobName}`, { cause: error });
    }
  }

  async remove(jobId: string): Promise<boolean> {
    try {
      // BullMQ refuses to remove a job whose lock a worker holds, and returns 0.
      return (await this.queue.remove(jobId)) === 1;
    } catch (error) {
      throw new BackendUnavailableError('queue', `Could not remove job ${jobId}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
