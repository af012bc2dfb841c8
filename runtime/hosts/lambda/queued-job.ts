/** The message that carries one job through SQS. */
import { type } from 'arktype';

/** The body of an SQS message for a job function. */
export const queuedJob = type({
  name: 'string > 0',
  jobId: 'string > 0',
  data: 'unknown',
  /** Epoch ms before which the job must not run; SQS delays at most 15 minutes at a time. */
  'runAt?': 'number',
});

export type QueuedJob = typeof queuedJob.infer;

/** The maximum delay SQS applies to one message, in seconds. */
export const maxSqsDelaySeconds = 900;
