/**
 * The job host: one BullMQ worker per queue runs the job functions mounted on it. It validates
 * job data, builds the job context, and maps failures onto BullMQ through the one retry
 * mapping. It is the only place that logs a job's failures.
 */
import { trace } from '@opentelemetry/api';
import { type } from 'arktype';
import { type ConnectionOptions, type Job, type Telemetry, UnrecoverableError, Worker } from 'bullmq';

import type { AnyJobFunction, JobContext, Logger } from '../contract/define.js';
import { toRetryDecision } from '../error-mapping.js';
import { activeTelemetry, instruments } from '../telemetry/instruments.js';

/** What the host needs besides the functions. */
export interface WorkerHostOptions {
  /** One object holding every dependency any mounted function declares. */
  deps: unknown;
  logger: Logger;
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /** Continues the producer's trace in each run; BullMQ records no spans without it. */
  telemetry?: Telemetry;
}

/** The running workers. */
export interface WorkerHost {
  workers: Worker[];
  /** Stops taking jobs and waits for the running ones to end. */
  close(): Promise<void>;
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

  const workers = [...byQueue].map(([queue, jobs]) => {
    const worker = new Worker(queue, (job, _token, signal) => runJob(jobs, job, signal, options), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    });
    worker.on('error', (error) => options.logger.error({ err: error, queue }, 'Worker error'));
    options.logger.info({ queue, jobs: [...jobs.keys()] }, 'Worker started');
    return worker;
  });

  return {
    workers,
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close()));
    },
  };
}

async function runJob(
  jobs: Map<string, AnyJobFunction>,
  job: Job,
  signal: AbortSignal | undefined,
  options: WorkerHostOptions,
): Promise<void> {
  const fn = jobs.get(job.name);
  const attempt = job.attemptsMade + 1;
  const maxAttempts = job.opts.attempts ?? 1;
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

  const context: JobContext = {
    logger,
    signal: signal ?? new AbortController().signal,
    requestId: job.id ?? '',
    jobId: job.id ?? '',
    attempt,
    maxAttempts,
    telemetry: activeTelemetry(),
  };
  const startedAt = Date.now();
  const metricAttributes = { job: job.name };
  trace.getActiveSpan()?.setAttributes({ 'export.job_id': context.jobId, 'export.attempt': attempt });
  instruments.jobs.add(1, { ...metricAttributes, outcome: 'started' });
  instruments.queueWait.record(Math.max(0, startedAt - job.timestamp) / 1000, metricAttributes);
  logger.info({ queueWaitMs: startedAt - job.timestamp }, 'Job started');

  try {
    await fn.handler(input, options.deps, context);
    instruments.jobs.add(1, { ...metricAttributes, outcome: 'completed' });
    logger.info({ durationMs: Date.now() - startedAt }, 'Job completed');
  } catch (error) {
    await reportFailure(fn, input, context, error, options.deps);
  } finally {
    instruments.jobDuration.record((Date.now() - startedAt) / 1000, metricAttributes);
  }
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
  context.logger[final ? 'error' : 'warn'](fields, final ? 'Job failed' : 'Job attempt failed, will retry');
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
