/**
 * One run of a job function under BullMQ: validates the data, builds the context, and maps the
 * outcome onto BullMQ (done, retry, no retry, or handed back at shutdown).
 */
import { trace } from '@opentelemetry/api';
import { type } from 'arktype';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';

import type { AnyJobFunction, JobContext } from '../contract/define.js';
import { toRetryDecision } from '../error-mapping.js';
import { activeTelemetry, instruments } from '../telemetry/instruments.js';
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

  const input = fn.input(job.data);
  if (input instanceof type.errors) {
    logger.error({ problems: input.summary }, 'Job data is invalid');
    throw new UnrecoverableError(`Invalid job data: ${input.summary}`);
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
  await invoke(fn, input, context, run);
}

async function invoke(fn: AnyJobFunction, input: unknown, context: JobContext, run: RunJobOptions) {
  const { job, options } = run;
  const startedAt = Date.now();
  const metricAttributes = { job: job.name };
  const span = trace.getActiveSpan();
  span?.setAttributes({ 'export.job_id': context.jobId, 'export.attempt': context.attempt });
  instruments.jobs.add(1, { ...metricAttributes, outcome: 'started' });
  instruments.queueWait.record(Math.max(0, startedAt - job.timestamp) / 1000, metricAttributes);
  context.logger.info({ queueWaitMs: startedAt - job.timestamp }, 'Job started');

  try {
    await fn.handler(input, options.deps, context);
    instruments.jobs.add(1, { ...metricAttributes, outcome: 'completed' });
    context.logger.info({ durationMs: Date.now() - startedAt }, 'Job completed');
  } catch (error) {
    if (run.shutdown.aborted) await handBack(run, context);
    await reportFailure(fn, input, context, error, options.deps);
  } finally {
    instruments.jobDuration.record((Date.now() - startedAt) / 1000, metricAttributes);
  }
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

/** Logs the failure once, lets the function record it, then tells BullMQ whether to retry. */
async function reportFailure(
  fn: AnyJobFunction,
  input: unknown,
  context: JobContext,
  error: unknown,
  deps: unknown,
): Promise<never> {
  const decision = toRetryDecision(error);
  const final = !decision.retry || context.attempt >= context.maxAttempts;
  const fields = { err: error, code: decision.code, final, maxAttempts: context.maxAttempts };
  const message = final ? 'Job failed' : 'Job attempt failed, will retry';
  context.logger[final ? 'error' : 'warn'](fields, message);
  instruments.jobs.add(1, { job: fn.name, outcome: final ? 'failed' : 'retried' });
  trace.getActiveSpan()?.setAttributes({ 'export.error_code': decision.code, 'export.final': final });

  try {
    await fn.onFailure?.(input, deps, context, { ...decision, final });
  } catch (recordError) {
    context.logger.error({ err: recordError }, 'Could not record the job failure');
  }

  if (!decision.retry) throw new UnrecoverableError(decision.message);
  throw error;
}
