/**
 * The Lambda host for job functions: an SQS consumer that runs each message through the shared
 * invoker and reports partial batch failures, so that one failed export does not send the
 * others of its batch back to the queue.
 */
import type { Context as LambdaContext, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type } from 'arktype';

import type { AnyJobFunction, JobContext, Logger } from '../../contract/define.js';
import { activeTelemetry } from '../../telemetry/instruments.js';
import { invokeJob } from '../invoke-job.js';
import { maxSqsDelaySeconds, type QueuedJob, queuedJob } from './queued-job.js';

/** Lambda's hard limit on one invocation. */
export const maxLambdaTimeoutSeconds = 900;

/** Options of the SQS host. */
export interface SqsHostOptions {
  deps: unknown;
  logger: Logger;
  /** The function's timeout. */
  timeoutSeconds: number;
  /** The queue's visibility timeout; AWS advises six times the function's timeout. */
  visibilityTimeoutSeconds: number;
  /** The queue's maxReceiveCount before its dead-letter queue. */
  maxAttempts: number;
  /** Sends a message again with a delay; used for delays longer than SQS allows at once. */
  requeue: (job: QueuedJob, delaySeconds: number) => Promise<void>;
  now?: () => number;
}

/** Builds the SQS handler; throws, naming the setting or job, when the deployment cannot work. */
export function createSqsHandler(functions: readonly AnyJobFunction[], options: SqsHostOptions) {
  checkDeployment(functions, options);
  const byName = new Map(functions.map((fn) => [fn.name, fn]));

  return async (event: SQSEvent, lambda?: LambdaContext): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const retry = await handleRecord(record, byName, options, lambda);
      if (retry) batchItemFailures.push({ itemIdentifier: record.messageId });
    }

    return { batchItemFailures };
  };
}

function checkDeployment(functions: readonly AnyJobFunction[], options: SqsHostOptions): void {
  const { timeoutSeconds, visibilityTimeoutSeconds } = options;
  const problems: string[] = [];
  if (timeoutSeconds > maxLambdaTimeoutSeconds) {
    problems.push(`The timeout of ${timeoutSeconds} s is over Lambda's limit of 900 s`);
  }
  if (visibilityTimeoutSeconds < 6 * timeoutSeconds) {
    problems.push(
      `The queue's visibility timeout of ${visibilityTimeoutSeconds} s must be at least 6 times ` +
        `the function timeout (${6 * timeoutSeconds} s), or messages are delivered twice`,
    );
  }
  for (const fn of functions) {
    if (fn.expectedDurationSeconds > timeoutSeconds) {
      problems.push(
        `Job ${fn.name} expects runs of up to ${fn.expectedDurationSeconds} s, longer than the ` +
          `function timeout of ${timeoutSeconds} s`,
      );
    }
  }

  if (problems.length > 0) throw new Error(`Cannot deploy the job functions:\n${problems.join('\n')}`);
}

/** Runs one message; returns true when SQS should deliver it again. */
async function handleRecord(
  record: SQSRecord,
  byName: Map<string, AnyJobFunction>,
  options: SqsHostOptions,
  lambda: LambdaContext | undefined,
): Promise<boolean> {
  const message = parseMessage(record, options.logger);
  const fn = message ? byName.get(message.name) : undefined;
  if (!message || !fn) {
    options.logger.error({ messageId: record.messageId }, 'Dropped a message no job function takes');
    return false;
  }

  const now = (options.now ?? Date.now)();
  if (message.runAt !== undefined && message.runAt > now) {
    const delay = Math.min(maxSqsDelaySeconds, Math.ceil((message.runAt - now) / 1000));
    try {
      await options.requeue(message, delay);
      return false;
    } catch (error) {
      // SQS delivers this one message again; the rest of the batch is unaffected.
      options.logger.error({ err: error, messageId: record.messageId }, 'Could not requeue a delayed job');
      return true;
    }
  }

  const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
  const deadline = new AbortController();
  const context = jobContext(message, attempt, options, lambda, deadline);
  context.logger.info({ messageId: record.messageId }, 'Job started');
  try {
    const outcome = await invokeJob(fn, message.data, context, options.deps);
    return outcome.kind === 'failed' && !outcome.final;
  } finally {
    deadline.abort();
  }
}

function jobContext(
  message: QueuedJob,
  attempt: number,
  options: SqsHostOptions,
  lambda: LambdaContext | undefined,
  deadline: AbortController,
): JobContext {
  // Stop a little before Lambda does, so the failure is recorded rather than cut off.
  const remainingMs = lambda ? lambda.getRemainingTimeInMillis() - 5_000 : options.timeoutSeconds * 1000;
  // A plain timer, because on Node 20 a garbage collection can drop an AbortSignal.timeout.
  const timer = setTimeout(() => deadline.abort(new Error('Lambda time ran out')), Math.max(1_000, remainingMs));
  deadline.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  return {
    logger: options.logger.child({ jobId: message.jobId, job: message.name, attempt }),
    signal: deadline.signal,
    requestId: lambda?.awsRequestId ?? message.jobId,
    jobId: message.jobId,
    attempt,
    maxAttempts: options.maxAttempts,
    telemetry: activeTelemetry(),
  };
}

function parseMessage(record: SQSRecord, logger: Logger): QueuedJob | null {
  try {
    const message = queuedJob(JSON.parse(record.body));
    if (!(message instanceof type.errors)) return message;

    logger.error({ messageId: record.messageId, problems: message.summary }, 'Invalid job message');
  } catch (error) {
    logger.error({ messageId: record.messageId, err: error }, 'Job message is not JSON');
  }

  return null;
}
