/**
 * The one invoker of job functions, shared by every job host (BullMQ, SQS on Lambda): it
 * validates the data, runs the handler, and on failure decides, logs and records the outcome.
 * Hosts only map the outcome onto their queue.
 */
import { trace } from '@opentelemetry/api';
import { type } from 'arktype';

import type { AnyJobFunction, JobContext } from '../contract/define.js';
import { type RetryDecision, toRetryDecision } from '../error-mapping.js';
import { instruments } from '../telemetry/instruments.js';

/** The outcome of one run. */
export type JobOutcome =
  | { kind: 'completed' }
  | { kind: 'failed'; decision: RetryDecision; final: boolean; error: unknown }
  | { kind: 'stopped' };

/**
 * Runs `fn` on `data`; never throws for a failure of the job itself. A run that fails after
 * `stopped` aborted was stopped by its host (a shutdown), so it is neither logged as a failure
 * nor recorded: the host hands it back.
 */
export async function invokeJob(
  fn: AnyJobFunction,
  data: unknown,
  context: JobContext,
  deps: unknown,
  stopped?: AbortSignal,
): Promise<JobOutcome> {
  const input = fn.input(data);
  if (input instanceof type.errors) {
    const decision = { retry: false, code: 'invalid_job_data', message: input.summary };
    context.logger.error({ problems: input.summary }, 'Job data is invalid');
    return { kind: 'failed', decision, final: true, error: new Error(input.summary) };
  }

  const startedAt = Date.now();
  const metricAttributes = { job: fn.name };
  trace.getActiveSpan()?.setAttributes({ 'export.job_id': context.jobId, 'export.attempt': context.attempt });
  instruments.jobs.add(1, { ...metricAttributes, outcome: 'started' });

  try {
    await fn.handler(input, deps, context);
    instruments.jobs.add(1, { ...metricAttributes, outcome: 'completed' });
    context.logger.info({ durationMs: Date.now() - startedAt }, 'Job completed');
    return { kind: 'completed' };
  } catch (error) {
    if (stopped?.aborted) return { kind: 'stopped' };

    return { kind: 'failed', ...(await recordFailure(fn, input, context, error, deps)), error };
  } finally {
    instruments.jobDuration.record((Date.now() - startedAt) / 1000, metricAttributes);
  }
}

/** Logs the failure once and lets the function record it. */
async function recordFailure(
  fn: AnyJobFunction,
  input: unknown,
  context: JobContext,
  error: unknown,
  deps: unknown,
): Promise<{ decision: RetryDecision; final: boolean }> {
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

  return { decision, final };
}
