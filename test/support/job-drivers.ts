/**
 * Drivers that run one job function on each job host: BullMQ on a real Redis, and the Lambda
 * SQS consumer fed SQS events. Both report the run in one shape, so a conformance suite can
 * check both hosts the same way.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { type ConnectionOptions, Queue } from 'bullmq';

import type { AnyJobFunction } from '../../runtime/contract/define.js';
import { createSqsHandler } from '../../runtime/hosts/lambda/sqs-handler.js';
import { startWorkerHost } from '../../runtime/hosts/worker-host.js';
import { type LogLine, MemoryLogger } from '../memory/logger.js';
import { fakeLambdaContext, toSqsEvent } from './lambda-events.js';

/** How a job ended on a host, after every delivery the host asked for. */
export interface JobRun {
  jobId: string;
  /** How many times the host started the job ("Job started" lines). */
  deliveries: number;
  outcome: 'completed' | 'failed';
  /** Every line logged from the moment the job was handed to the host. */
  lines: LogLine[];
}

/** One job host, ready to run a job function. */
export interface JobHostDriver {
  name: string;
  /** Runs `fn` on `data` until the host stops delivering it, at most `maxAttempts` times. */
  run(fn: AnyJobFunction, data: unknown, maxAttempts: number): Promise<JobRun>;
  /**
   * Starts `fn` on `data`, then stops the run the host's way: BullMQ's worker shutdown with
   * a short deadline, or a Lambda invocation whose remaining time is short.
   */
  interrupt(fn: AnyJobFunction, data: unknown): Promise<{ lines: LogLine[] }>;
}

/** How long a stopping BullMQ worker lets a run go on before it aborts it. */
export const shutdownDeadlineMs = 200;

/** The remaining time of a Lambda invocation that the SQS host must cut short. */
export const shortLambdaRemainingMs = 6_000;

/** The maximum time a driver waits for a run before it fails the test. */
const runTimeoutMs = 20_000;

/**
 * Builds the driver of the BullMQ worker host, with a fresh key prefix per run. `redisUrl` is
 * read at each run, so the driver can be made before the test's redis-server starts.
 */
export function bullmqDriver(redisUrl: () => string): JobHostDriver {
  async function start(fn: AnyJobFunction, data: unknown, maxAttempts: number) {
    const url = new URL(redisUrl());
    const connection: ConnectionOptions = { host: url.hostname, port: Number(url.port) };
    const logger = new MemoryLogger();
    const prefix = `conformance_${randomBytes(6).toString('hex')}`;
    const host = startWorkerHost([fn], {
      deps: {},
      logger,
      connection,
      prefix,
      concurrency: 1,
      lockDurationMs: 30_000,
    });
    const queue = new Queue(fn.queue, { connection, prefix });
    const jobId = randomUUID();
    const firstLine = logger.lines.length;
    await queue.add(fn.name, data, { jobId, attempts: maxAttempts });

    const close = async () => {
      await host.close(shutdownDeadlineMs);
      await queue.close();
    };
    return { logger, queue, jobId, firstLine, close };
  }

  return {
    name: 'BullMQ worker',
    async run(fn, data, maxAttempts) {
      const { logger, queue, jobId, firstLine, close } = await start(fn, data, maxAttempts);
      try {
        const outcome = await waitForFinalState(queue, jobId);
        const lines = logger.lines.slice(firstLine);

        return { jobId, deliveries: countStarts(lines), outcome, lines };
      } finally {
        await close();
      }
    },
    async interrupt(fn, data) {
      const { logger, jobId, firstLine, close } = await start(fn, data, 1);
      try {
        await waitFor(() => logger.lines.some((line) => line.fields.jobId === jobId));
      } finally {
        await close();
      }

      return { lines: logger.lines.slice(firstLine) };
    },
  };
}

/**
 * The Lambda SQS host. A run delivers the message with ApproximateReceiveCount 1, then again
 * with the next count for as long as the host lists it in `batchItemFailures`, as SQS would
 * after the visibility timeout. SQS deletes a message both when it completed and when it
 * failed for good, so the outcome comes from the last delivery's "Job completed" line.
 */
export const sqsDriver: JobHostDriver = {
  name: 'Lambda SQS consumer',
  async run(fn, data, maxAttempts) {
    const logger = new MemoryLogger();
    const handler = createSqsHandler([fn], sqsOptions(logger, maxAttempts));
    const jobId = randomUUID();
    const messageId = randomUUID();
    const body = JSON.stringify({ name: fn.name, jobId, data });

    let deliveries = 0;
    let redelivered = true;
    let lastDeliveryLine = 0;
    while (redelivered && deliveries < maxAttempts) {
      deliveries += 1;
      lastDeliveryLine = logger.lines.length;
      const event = toSqsEvent([{ messageId, body, receiveCount: deliveries }]);
      const response = await handler(event, fakeLambdaContext(60_000));
      redelivered = response.batchItemFailures.some((item) => item.itemIdentifier === messageId);
    }
    const completed = logger.lines
      .slice(lastDeliveryLine)
      .some((line) => line.message === 'Job completed');

    return { jobId, deliveries, outcome: completed ? 'completed' : 'failed', lines: logger.lines };
  },
  async interrupt(fn, data) {
    const logger = new MemoryLogger();
    const handler = createSqsHandler([fn], sqsOptions(logger, 3));
    const body = JSON.stringify({ name: fn.name, jobId: randomUUID(), data });
    const event = toSqsEvent([{ messageId: randomUUID(), body, receiveCount: 1 }]);
    await handler(event, fakeLambdaContext(shortLambdaRemainingMs));

    return { lines: logger.lines };
  },
};

function sqsOptions(logger: MemoryLogger, maxAttempts: number) {
  return {
    deps: {},
    logger,
    timeoutSeconds: 60,
    visibilityTimeoutSeconds: 360,
    maxAttempts,
    requeue: async () => {
      throw new Error('The conformance jobs carry no runAt, so nothing should be requeued');
    },
  };
}

function countStarts(lines: readonly LogLine[]): number {
  return lines.filter((line) => line.message === 'Job started').length;
}

async function waitForFinalState(queue: Queue, jobId: string): Promise<'completed' | 'failed'> {
  let state = 'unknown';
  await waitFor(async () => {
    state = (await queue.getJobState(jobId)) as string;
    return state === 'completed' || state === 'failed';
  });

  return state as 'completed' | 'failed';
}

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + runTimeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${runTimeoutMs} ms waiting for the job`);
    }
    await sleep(20);
  }
}
