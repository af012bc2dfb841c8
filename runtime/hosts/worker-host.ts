/**
 * The job host: one BullMQ worker per queue runs the job functions mounted on it. It validates
 * job data, builds the job context, and maps failures onto BullMQ through the one retry
 * mapping. It is the only place that logs a job's failures.
 */
import { type ConnectionOptions, type Job, type Telemetry, Worker } from 'bullmq';

import type { AnyJobFunction, Logger } from '../contract/define.js';
import { runJob } from './run-job.js';

/** Options of the BullMQ worker host. */
export interface WorkerHostOptions {
  /** One object holding every dependency any mounted function declares. */
  deps: unknown;
  logger: Logger;
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /** Continues the producer's trace in each run; BullMQ records no spans without it. */
  telemetry?: Telemetry;
  /** How long a job lost by a crashed worker stays locked before another worker takes it. */
  lockDurationMs: number;
}

/** The running workers. */
export interface WorkerHost {
  workers: Worker[];
  /**
   * Stops taking jobs and waits up to `deadlineMs` for the running ones to end. Runs still
   * going then are stopped through their abort signal and handed back to the queue, so
   * another worker starts them again without using up an attempt.
   */
  close(deadlineMs: number): Promise<void>;
}

/** Starts one worker per queue named by `functions`. */
export function startWorkerHost(
  functions: readonly AnyJobFunction[],
  options: WorkerHostOptions,
): WorkerHost {
  const byQueue = new Map<string, Map<string, AnyJobFunction>>();
  for (const fn of functions) {
    const jobs = byQueue.get(fn.queue) ?? new Map<string, AnyJobFunction>();
    jobs.set(fn.name, fn);
    byQueue.set(fn.queue, jobs);
  }

  // Aborted when the deadline of a shutdown passes; every run's signal follows it.
  const shutdown = new AbortController();
  const workers = [...byQueue].map(([queue, jobs]) => {
    const processor = (job: Job, token?: string, signal?: AbortSignal) =>
      runJob({ jobs, job, token, signal, shutdown: shutdown.signal, options });
    const worker = new Worker(queue, processor, {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    });
    worker.on('error', (error) => options.logger.error({ err: error, queue }, 'Worker error'));
    options.logger.info({ queue, jobs: [...jobs.keys()] }, 'Worker started');
    return worker;
  });

  return {
    workers,
    close: async (deadlineMs: number) => {
      const timer = setTimeout(() => {
        options.logger.warn({ deadlineMs }, 'Shutdown deadline passed; handing back running jobs');
        shutdown.abort(new Error('The worker is shutting down'));
      }, deadlineMs);
      try {
        await Promise.all(workers.map((worker) => worker.close()));
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

