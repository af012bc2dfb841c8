/**
 * One conformance suite for every job host: the BullMQ worker on a private redis-server, and
 * the Lambda SQS consumer fed SQS events. Each case is written once and runs on both hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  PermanentJobError,
  RetryableJobError,
  StorageError,
} from '../../runtime/contract/errors.js';
import { bullmqDriver, type JobHostDriver, sqsDriver } from '../support/job-drivers.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { recordingJob, waitForAbort } from './test-functions.js';

let services: TestServices;
const drivers: JobHostDriver[] = [bullmqDriver(() => services.redisUrl), sqsDriver];

beforeAll(async () => {
  services = await startTestServices();
});
afterAll(async () => {
  await services?.stop();
});

const validData = { exportId: 'conformance-export' };

/** Fails attempt 1 with a retryable error and succeeds after. */
function failOnceJob() {
  return recordingJob('conformance-fail-once', async (context) => {
    if (context.attempt === 1) {
      throw new RetryableJobError('s3_throttled', 'S3 returned 503 SlowDown');
    }
  });
}

describe.each(drivers)('$name', (host) => {
  it('completes a job that succeeds', async () => {
    const { fn, recording } = recordingJob('conformance-ok', async () => undefined);
    const run = await host.run(fn, validData, 3);

    expect(run.outcome).toBe('completed');
    expect(run.deliveries).toBe(1);
    expect(recording.failures).toHaveLength(0);
  });

  it('skips retries after PermanentJobError', async () => {
    const { fn, recording } = recordingJob('conformance-permanent', async () => {
      throw new PermanentJobError('all_files_missing', 'None of the files exists');
    });
    const run = await host.run(fn, validData, 3);

    expect(run.outcome).toBe('failed');
    expect(run.deliveries).toBe(1);
    expect(recording.failures).toMatchObject([
      { code: 'all_files_missing', message: 'None of the files exists', final: true },
    ]);
  });

  it('retries a retryable error', async () => {
    const { fn, recording } = failOnceJob();
    const run = await host.run(fn, validData, 3);

    expect(run.outcome).toBe('completed');
    expect(run.deliveries).toBe(2);
    expect(recording.attempts).toEqual([1, 2]);
    expect(recording.failures).toMatchObject([
      { code: 's3_throttled', message: 'S3 returned 503 SlowDown', final: false },
    ]);
  });

  it('retries an unexpected error', async () => {
    const { fn, recording } = recordingJob('conformance-crash-once', async (context) => {
      if (context.attempt === 1) throw new TypeError('Cannot read properties of undefined');
    });
    const run = await host.run(fn, validData, 3);

    expect(run.deliveries).toBe(2);
    expect(recording.failures.map((failure) => failure.code)).toEqual(['internal']);
  });

  it('ends on the last attempt', async () => {
    const { fn, recording } = recordingJob('conformance-outage', async () => {
      throw new StorageError('unavailable', 'S3 returned 503 Service Unavailable');
    });
    const run = await host.run(fn, validData, 2);

    expect(run.outcome).toBe('failed');
    expect(run.deliveries).toBe(2);
    expect(recording.failures.map((failure) => failure.final)).toEqual([false, true]);
    expect(recording.failures.map((failure) => failure.code)).toEqual([
      'storage_unavailable',
      'storage_unavailable',
    ]);
  });

  it('logs a final failure as an error', async () => {
    const { fn } = recordingJob('conformance-final', async () => {
      throw new PermanentJobError('all_files_missing', 'None of the files exists');
    });
    const run = await host.run(fn, validData, 3);
    const errors = run.lines.filter((line) => line.level === 'error');

    expect(errors.map((line) => line.message)).toEqual(['Job failed']);
    expect(errors[0]?.fields).toMatchObject({ code: 'all_files_missing', final: true });
  });

  it('drops invalid job data', async () => {
    const { fn, recording } = recordingJob('conformance-invalid', async () => undefined);
    const run = await host.run(fn, { exportId: 42 }, 3);
    const invalid = run.lines.filter((line) => line.message === 'Job data is invalid');

    expect(run.outcome).toBe('failed');
    expect(run.deliveries).toBe(1);
    expect(recording.attempts).toHaveLength(0);
    expect(recording.failures).toHaveLength(0);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.level).toBe('error');
    expect(String(invalid[0]?.fields.problems)).toContain('exportId');
  });

  it('puts job fields on every line', async () => {
    const { fn } = failOnceJob();
    const run = await host.run(fn, validData, 3);

    expect(run.lines.length).toBeGreaterThanOrEqual(6);
    for (const line of run.lines) {
      expect(line.fields.jobId, line.message).toBe(run.jobId);
      expect(line.fields.job, line.message).toBe(fn.name);
      expect(line.fields.attempt, line.message).toBeTypeOf('number');
    }
  });

  it('logs the attempt number', async () => {
    const { fn } = failOnceJob();
    const run = await host.run(fn, validData, 3);
    const ran = run.lines.filter((line) => line.message === 'Conformance job ran');

    expect(ran.map((line) => line.fields.attempt)).toEqual([1, 2]);
  });

  describe('abort handling', () => {
    // Both hosts should abort within about a second: the BullMQ deadline is 200 ms, and the
    // SQS host aborts 5 s before the Lambda's remaining time of 6 s runs out.
    const capMs = 3_000;

    it('aborts the signal when stopped', async () => {
      const { fn, recording } = recordingJob('conformance-long', async (context) => {
        await waitForAbort(context.signal, capMs);
      });
      const startedAt = Date.now();
      await host.interrupt(fn, validData);
      const [signal] = recording.signals;

      expect(signal).toBeInstanceOf(AbortSignal);
      expect(signal?.aborted).toBe(true);
      expect(Date.now() - startedAt).toBeLessThan(capMs);
    });

    it('passes a live AbortSignal', async () => {
      const abortedAtStart: boolean[] = [];
      const { fn, recording } = recordingJob('conformance-signal', async (context) => {
        abortedAtStart.push(context.signal.aborted);
      });
      await host.run(fn, validData, 1);

      expect(recording.signals[0]).toBeInstanceOf(AbortSignal);
      expect(abortedAtStart).toEqual([false]);
    });
  });
});
