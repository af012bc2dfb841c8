/** The JobQueue port over SQS, for the Lambda deployment. */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

import type { EnqueueOptions, JobQueue } from '../functions/lib/ports.js';
import { BackendUnavailableError } from '../runtime/contract/errors.js';
import { maxSqsDelaySeconds, type QueuedJob } from '../runtime/hosts/lambda/queued-job.js';

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Sends the job. NOTE: `attempts` is not per message on SQS: the queue's maxReceiveCount
   * before its dead-letter queue sets it. Delays over 15 minutes travel as `runAt`, and the
   * consumer sends the message again until the time has come.
   */
  async enqueue(jobName: string, data: unknown, options: EnqueueOptions): Promise<void> {
    const delayMs = options.delayMs ?? 0;
    const message: QueuedJob = {
      name: jobName,
      jobId: options.jobId,
      data,
      ...(delayMs > 0 ? { runAt: this.now() + delayMs } : {}),
    };

    await this.send(message, Math.min(maxSqsDelaySeconds, Math.ceil(delayMs / 1000)));
  }

  /** Sends `message` again after `delaySeconds` (at most 900). */
  async send(message: QueuedJob, delaySeconds: number): Promise<void> {
    const command = new SendMessageCommand({
      QueueUrl: this.queueUrl,
      MessageBody: JSON.stringify(message),
      DelaySeconds: delaySeconds,
    });
    try {
      await this.client.send(command);
    } catch (error) {
      throw new BackendUnavailableError('queue', `Could not send ${message.name} to SQS`, {
        cause: error,
      });
    }
  }

  /** SQS cannot remove a message by job id; a cancelled job ends when its run starts. */
  async remove(): Promise<boolean> {
    return false;
  }
}
