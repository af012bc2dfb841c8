/**
 * What only the Lambda SQS host does: partial batch failures, delayed jobs, messages no job
 * takes, and the deployment checks it runs when it is built. The cases it shares with the
 * BullMQ host are in job-hosts.int.test.ts.
 */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';

import { jobFunctions } from '../../functions/index.js';
import { loadConfig } from '../../runtime/config.js';
import type { AnyJobFunction } from '../../runtime/contract/define.js';
import { RetryableJobError } from '../../runtime/contract/errors.js';
import type { QueuedJob } from '../../runtime/hosts/lambda/queued-job.js';
import { createSqsHandler, type SqsHostOptions } from '../../runtime/hosts/lambda/sqs-handler.js';
import { MemoryLogger } from '../memory/logger.js';
import { fakeLambdaContext, loadLambdaFixture, toSqsEvent } from '../support/lambda-events.js';
import { recordingJob } from './test-functions.js';

const now = Date.parse('2026-12-04T17:00:00.000Z');

function hostOptions(overrides: Partial<SqsHostOptions> = {}) {
  const requeued: Array<{ job: QueuedJob; delaySeconds: number }> = [];
  const options: SqsHostOptions = {
    deps: {},
    logger: new MemoryLogger(),
    timeoutSeconds: 60,
    visibilityTimeoutSeconds: 360,
    maxAttempts: 3,
    requeue: async (job, delaySeconds) => {
      requeued.push({ job, delaySeconds });
    },
    now: () => now,
    ...overrides,
  };

  return { options, requeued, logger: options.logger as MemoryLogger };
}

function messageBody(fn: AnyJobFunction, extra: Partial<QueuedJob> = {}): string {
  return JSON.stringify({ name: fn.name, jobId: 'sqs-job-1', data: { exportId: 'e-1' }, ...extra });
}

describe('SQS batches', () => {
  it('reports only the failed message', async () => {
    const { fn, recording } = recordingJob('conformance-echo', async (context) => {
      if (context.jobId === 'batch-job-2') throw new RetryableJobError('s3_throttled', 'SlowDown');
    });
    const { options } = hostOptions();
    const event = loadLambdaFixture<SQSEvent>('sqs-batch.json');
    const response = await createSqsHandler([fn], options)(event, fakeLambdaContext(60_000));

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: '7a9b1c3d-5e6f-4a8b-b0c1-d2e3f4a5b6c7' },
    ]);
    expect(recording.attempts).toEqual([1, 1, 2]);
  });

  it('keeps running after a failed message', async () => {
    const { fn, recording } = recordingJob('conformance-echo', async (context) => {
      if (context.jobId === 'batch-job-1') throw new Error('The first message breaks');
    });
    const { options } = hostOptions();
    const event = loadLambdaFixture<SQSEvent>('sqs-batch.json');
    const response = await createSqsHandler([fn], options)(event);

    expect(response.batchItemFailures.map((item) => item.itemIdentifier)).toEqual([
      '2f0e6c1a-8b4d-4c3e-9a7f-1d2e3f4a5b6c',
    ]);
    expect(recording.attempts).toHaveLength(3);
  });

  it('reports nothing when all succeed', async () => {
    const { fn } = recordingJob('conformance-echo', async () => undefined);
    const { options } = hostOptions();
    const event = loadLambdaFixture<SQSEvent>('sqs-batch.json');
    const response = await createSqsHandler([fn], options)(event);

    expect(response).toEqual({ batchItemFailures: [] });
  });
});

describe('SQS delayed jobs', () => {
  it('requeues a job due later', async () => {
    const { fn, recording } = recordingJob('conformance-later', async () => undefined);
    const { options, requeued } = hostOptions();
    const body = messageBody(fn, { runAt: now + 30_200 });
    const event = toSqsEvent([{ messageId: 'm-later', body, receiveCount: 1 }]);
    const response = await createSqsHandler([fn], options)(event);

    expect(response.batchItemFailures).toHaveLength(0);
    expect(recording.attempts).toHaveLength(0);
    expect(requeued.map((entry) => entry.delaySeconds)).toEqual([31]);
    expect(requeued[0]?.job).toMatchObject({ name: fn.name, jobId: 'sqs-job-1' });
  });

  it('caps the delay at 900 s', async () => {
    const { fn, recording } = recordingJob('conformance-much-later', async () => undefined);
    const { options, requeued } = hostOptions();
    const body = messageBody(fn, { runAt: now + 2 * 3_600_000 });
    const event = toSqsEvent([{ messageId: 'm-much-later', body, receiveCount: 1 }]);
    await createSqsHandler([fn], options)(event);

    expect(recording.attempts).toHaveLength(0);
    expect(requeued.map((entry) => entry.delaySeconds)).toEqual([900]);
    expect(requeued[0]?.job.runAt).toBe(now + 2 * 3_600_000);
  });

  it('reports a failed requeue alone', async () => {
    const { fn, recording } = recordingJob('conformance-later', async () => undefined);
    const { options } = hostOptions({
      requeue: async () => Promise.reject(new Error('SQS SendMessage failed: throttled')),
    });
    const event = toSqsEvent([
      { messageId: 'm-later', body: messageBody(fn, { runAt: now + 60_000 }), receiveCount: 1 },
      { messageId: 'm-now', body: messageBody(fn), receiveCount: 1 },
    ]);
    const response = await createSqsHandler([fn], options)(event);

    expect(recording.attempts).toEqual([1]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-later' }]);
  });

  it('runs a job that is due', async () => {
    const { fn, recording } = recordingJob('conformance-due', async () => undefined);
    const { options, requeued } = hostOptions();
    const body = messageBody(fn, { runAt: now - 1_000 });
    const event = toSqsEvent([{ messageId: 'm-due', body, receiveCount: 1 }]);
    await createSqsHandler([fn], options)(event);

    expect(recording.attempts).toEqual([1]);
    expect(requeued).toHaveLength(0);
  });
});

describe('SQS messages no job takes', () => {
  const cases: Array<[string, string, string]> = [
    ['a body that is not JSON', 'file_ids=70000', 'Job message is not JSON'],
    ['a body without jobId', '{"name":"conformance-echo","data":{}}', 'Invalid job message'],
    ['an unknown job name', '{"name":"no-such-job","jobId":"j-1","data":{}}', 'Dropped a message'],
  ];

  it.each(cases)('drops %s', async (_case, body, logged) => {
    const { fn, recording } = recordingJob('conformance-echo', async () => undefined);
    const { options, logger } = hostOptions();
    const event = toSqsEvent([{ messageId: 'm-bad', body, receiveCount: 1 }]);
    const response = await createSqsHandler([fn], options)(event);
    const errors = logger.at('error');

    expect(response.batchItemFailures).toHaveLength(0);
    expect(recording.attempts).toHaveLength(0);
    expect(errors.some((line) => line.message.startsWith(logged))).toBe(true);
    expect(errors.every((line) => line.fields.messageId === 'm-bad')).toBe(true);
  });
});

describe('SQS deployment checks', () => {
  function build(functions: readonly AnyJobFunction[], overrides: Partial<SqsHostOptions>) {
    return () => createSqsHandler(functions, hostOptions(overrides).options);
  }

  it('rejects a job longer than the timeout', () => {
    const { fn } = recordingJob('conformance-slow', async () => undefined, 1_200);
    const create = build([fn], { timeoutSeconds: 900, visibilityTimeoutSeconds: 5_400 });

    expect(create).toThrow('Job conformance-slow expects runs of up to 1200 s');
  });

  it('rejects a timeout over 900 s', () => {
    const create = build([], { timeoutSeconds: 901, visibilityTimeoutSeconds: 6_000 });

    expect(create).toThrow("The timeout of 901 s is over Lambda's limit of 900 s");
  });

  it('rejects a short visibility timeout', () => {
    const create = build([], { timeoutSeconds: 300, visibilityTimeoutSeconds: 1_799 });

    expect(create).toThrow("queue's visibility timeout of 1799 s must be at least 6 times");
  });

  it('accepts six times the timeout', () => {
    const create = build([], { timeoutSeconds: 300, visibilityTimeoutSeconds: 1_800 });

    expect(create).not.toThrow();
  });

  it('lists every problem at once', () => {
    const { fn } = recordingJob('conformance-slow', async () => undefined, 1_200);
    const create = build([fn], { timeoutSeconds: 1_000, visibilityTimeoutSeconds: 60 });

    expect(thrownMessage(create).split('\n')).toHaveLength(4);
  });

  it('accepts the real jobs with the defaults', () => {
    const { lambda } = loadConfig({});
    const create = build(jobFunctions, {
      timeoutSeconds: lambda.timeoutSeconds,
      visibilityTimeoutSeconds: lambda.visibilityTimeoutSeconds,
      maxAttempts: lambda.maxReceiveCount,
    });

    expect(create).not.toThrow();
  });
});

function thrownMessage(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }

  return '';
}
