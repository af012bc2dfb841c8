/**
 * Function definitions that exist only for the conformance suites: each one makes a host show
 * one behaviour (an error it must map, an input it must pass on, a signal it must abort).
 */
import { type } from 'arktype';

import {
  type AnyJobFunction,
  defineHttp,
  defineJob,
  defineSse,
  type JobContext,
  type JobFailure,
} from '../../runtime/contract/define.js';
import {
  BackendUnavailableError,
  HttpError,
  PermanentJobError,
  StorageError,
} from '../../runtime/contract/errors.js';

/** Throws an HttpError with a field and a header of its own. */
export const teapot = defineHttp({
  name: 'conformance-teapot',
  method: 'GET',
  paths: ['/conformance/teapot'],
  input: type({}),
  access: 'public',
  async handler() {
    const headers = { 'X-Brew': 'tea' };

    throw new HttpError(418, 'teapot', 'This endpoint brews tea only', 'kettle', headers);
  },
});

/** The errors that `GET /conformance/throw/:kind` throws, by kind. */
export const thrownErrors = {
  permanent: () => new PermanentJobError('export_failed', 'A job error thrown by an endpoint'),
  'storage-unavailable': () => new StorageError('unavailable', 'S3 returned 503 Slow Down'),
  'storage-denied': () => new StorageError('access_denied', 'S3 returned 403 Access Denied'),
  'redis-down': () => new BackendUnavailableError('redis', 'Redis refused the connection'),
  plain: () => new Error('conformance: a bug in a handler'),
} as const;

export type ThrownErrorKind = keyof typeof thrownErrors;

const errorKind = type.enumerated(...(Object.keys(thrownErrors) as ThrownErrorKind[]));

/** Throws the error named by its path parameter. */
export const thrower = defineHttp({
  name: 'conformance-throw',
  method: 'GET',
  paths: ['/conformance/throw/:kind'],
  input: type({ params: { kind: errorKind } }),
  access: 'public',
  async handler({ params }) {
    throw thrownErrors[params.kind as ThrownErrorKind]();
  },
});

/** Returns its validated query, the caller's owner and the request id. */
export const echoQuery = defineHttp({
  name: 'conformance-echo-query',
  method: 'GET',
  paths: ['/conformance/echo'],
  input: type({ query: { 'mode?': "'fast' | 'slow'", 'tag?': 'string' } }),
  access: 'public',
  async handler({ query }, _deps, context) {
    return {
      status: 200,
      body: { query, owner: context.owner, requestId: context.requestId },
    };
  },
});

/** Accepts a JSON body and returns 202 with a Location, as the endpoints that start work do. */
export const echoBody = defineHttp({
  name: 'conformance-echo-body',
  method: 'POST',
  paths: ['/conformance/echo/:item'],
  input: type({
    params: { item: /^[a-z0-9-]{1,40}$/ },
    body: { '+': 'reject', count: '1 <= number.integer <= 10', 'note?': 'string' },
  }),
  access: 'public',
  async handler({ params, body }, _deps, context) {
    return {
      status: 202,
      headers: { Location: `/conformance/echo/${params.item}/1` },
      body: { item: params.item, ...body, owner: context.owner, requestId: context.requestId },
    };
  },
});

/** Where the signal probe leaves the signals its handler received. */
export interface SignalProbeDeps {
  signals: AbortSignal[];
}

/** Keeps its context's abort signal, so a test can check it after the response. */
export const signalProbe = defineHttp({
  name: 'conformance-signal',
  method: 'GET',
  paths: ['/conformance/signal'],
  input: type({}),
  access: 'public',
  async handler(_input, deps: SignalProbeDeps, context) {
    deps.signals.push(context.signal);

    return { status: 200, body: { abortedDuringHandler: context.signal.aborted } };
  },
});

/** Streams two Server-Sent Events frames, then ends. */
export const twoFrames = defineSse({
  name: 'conformance-stream',
  method: 'GET',
  paths: ['/conformance/stream'],
  input: type({}),
  access: 'public',
  async *handler() {
    yield { id: '1', event: 'progress', data: { step: 1 } };
    yield { id: '2', event: 'completed', data: { step: 2 } };
  },
});

/** Every HTTP function above that returns one JSON response. */
export const conformanceHttpFunctions = [teapot, thrower, echoQuery, echoBody, signalProbe];

/** The queue of the test jobs. BullMQ needs one, and the SQS host ignores it. */
export const conformanceQueue = 'conformance';

/** Job data of the test jobs. */
export const jobData = type({ exportId: 'string > 0' });

/** What a recording job saw across its runs. */
export interface JobRecording {
  /** The attempt number of each run that reached the handler. */
  attempts: number[];
  /** Every `onFailure` call, in order. */
  failures: JobFailure[];
  /** The context signal of each run. */
  signals: AbortSignal[];
}

/** What a recording job does on each run. It throws to fail the run. */
export type JobBehaviour = (context: JobContext) => Promise<void>;

/** Defines a test job that records its runs and failures and calls `behaviour` on each run. */
export function recordingJob(
  name: string,
  behaviour: JobBehaviour,
  expectedDurationSeconds = 10,
): { fn: AnyJobFunction; recording: JobRecording } {
  const recording: JobRecording = { attempts: [], failures: [], signals: [] };
  const fn = defineJob({
    name,
    queue: conformanceQueue,
    expectedDurationSeconds,
    input: jobData,
    async handler(_input, _deps: unknown, context) {
      recording.attempts.push(context.attempt);
      recording.signals.push(context.signal);
      context.logger.info({}, 'Conformance job ran');
      await behaviour(context);
    },
    async onFailure(_input, _deps: unknown, _context, failure) {
      recording.failures.push(failure);
    },
  });

  return { fn, recording };
}

/** Resolves once `signal` aborts, or after `capMs`, so a host that never aborts cannot hang. */
export function waitForAbort(signal: AbortSignal, capMs: number): Promise<void> {
  if (signal.aborted) return Promise.resolve();

  return new Promise((resolve) => {
    const timer = setTimeout(resolve, capMs);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
