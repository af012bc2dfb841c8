/**
 * One run of a job function under BullMQ: builds the context, calls the shared invoker, and
 * maps the outcome onto BullMQ (done, retry, no retry, or handed back at shutdown).
 */
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';

import type { AnyJobFunction, JobContext } from '../contract/define.js';
import { activeTelemetry, instruments } from '../telemetry/instruments.js';
import { invokeJob } from './invoke-job.js';
import type { WorkerHostOptions } from './worker-host.js';

/** Everything one run needs. */
export interface RunJobOptions {
  jobs: Map<string, AnyJobFunction>;
  job: Job;
  /** BullMQ's lock token, needed to hand the job back. */
  token: string | undefined;
  /** BullMQ's own signal, aborted when the job is cancelled in this worker. */
  signal: AbortSignal | undefined;
  /** Aborted when a shutdown's deadline passes. */
  shutdown: AbortSignal;
  options: WorkerHostOptions;
}

/** Runs the job's function; throws as BullMQ expects for a retry, a failure or a hand-back. */
export async function runJob(run: RunJobOptions): Promise<void> {
  const { job, options } = run;
  const fn = run.jobs.get(job.name);
  const attempt = job.attemptsMade + 1;
  const logger = options.logger.child({ jobId: job.id, job: job.name, attempt });
  if (!fn) {
    logger.error({}, 'No function handles this job name');
    throw new UnrecoverableError(`No function handles jobs named ${job.name}`);
  }

  const signals = run.signal ? [run.signal, run.shutdown] : [run.shutdown];
  const context: JobContext = {
    logger,
    signal: AbortSignal.any(signals),
    requestId: job.id ?? '',
    jobId: job.id ?? '',
    attempt,
    maxAttempts: job.opts.attempts ?? 1,
    telemetry: activeTelemetry(),
  };
  const queueWaitMs = Math.max(0, Date.now() - job.timestamp);
  instruments.queueWait.record(queueWaitMs / 1000, { job: job.name });
  logger.info({ queueWaitMs }, 'Job started');

  const outcome = await invokeJob(fn, job.data, context, options.deps, run.shutdown);
  if (outcome.kind === 'completed') return;
  if (outcome.kind === 'stopped') await handBack(run, context);
  if (outcome.kind !== 'failed') return;
  if (!outcome.decision.retry) throw new UnrecoverableError(outcome.decision.message);

  throw outcome.error;
}

/**
 * Puts a run stopped by shutdown back in the queue to start now, without using an attempt.
 * BullMQ treats DelayedError as "moved on purpose", not as a failure.
 */
async function handBack(run: RunJobOptions, context: JobContext): Promise<never> {
  context.logger.warn({}, 'Job handed back to the queue at shutdown');
  instruments.jobs.add(1, { job: run.job.name, outcome: 'handed_back' });
  await run.job.moveToDelayed(Date.now(), run.token);

  throw new DelayedError();
}
