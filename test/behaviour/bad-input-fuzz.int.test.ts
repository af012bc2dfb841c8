/**
 * Property-based test of the API's rejections: a few thousand random requests over HTTP to the
 * real API (no worker) on a real redis-server and S3 emulator. A request over loopback HTTP
 * took about 2 ms on the 2-core development machine, so the real listening server is used
 * rather than the Hono app in-process.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseError } from '../support/error-body.js';
import { generousLimits } from '../support/generous-limits.js';
import { type RunningService, startService } from '../support/service.js';

/** One generated request. */
interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** What one response showed, for the coverage checks after the run. */
interface Outcome {
  status: number;
  code?: string;
}

/** An idle 2-core machine runs all of them in about 15 s. */
const runs = 3_000;
/** Bounds the run on a loaded machine. A run cut short must still reach `minimumRuns`. */
const timeLimitMs = 45_000;
const minimumRuns = 300;
const requestTimeoutMs = 10_000;

const bodyPaths = [
  '/v1/export',
  '/v1/download/initiate',
  '/v1/download/check',
  '/v1/download/start',
];
// NOTE: /metrics is left out because, in a process without the telemetry SDK as in these
// tests, it returns 503 with a plain-text body by design.
const fixedPaths = [
  '/',
  '/health',
  '/v1/exports',
  '/v1/exports/progress',
  '/v1/files',
  ...bodyPaths,
];
const idPathTemplates = [
  '/v1/export/{id}',
  '/v1/export/{id}/progress',
  '/v1/export/{id}/download',
  '/v1/export/{id}/retry',
  '/v1/download/status/{id}',
  '/v1/download/subscribe/{id}',
];

/** Characters that fetch accepts in a header value: Latin-1 without control characters. */
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }), fc.constant(9))
  .map((code) => String.fromCharCode(code));
const headerText = fc.string({ unit: headerChar, maxLength: 40 });

const contentType = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      ' application/json ;charset=latin1',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/jsonp',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/problem+json',
      ';',
      '',
    ),
  },
  { weight: 1, arbitrary: headerText },
);

const idempotencyKey = fc.oneof(
  fc.uuid(),
  headerText,
  fc.string({ unit: fc.constantFrom('a', '~', '!', ' '), minLength: 195, maxLength: 205 }),
);

const lastEventId = fc.oneof(
  fc.integer().map(String),
  fc.bigInt().map(String),
  fc.constantFrom('0', '-1', '1e3', '0x10', ' 12 ', '9007199254740993', '1.5'),
  headerText,
);

/** Request headers; bodies usually carry a Content-Type, as real clients send them. */
function headersOf(requiredKeys: Array<'Content-Type'>) {
  return fc
    .record(
      {
        'Content-Type': contentType,
        'Idempotency-Key': idempotencyKey,
        'Last-Event-ID': lastEventId,
      },
      { requiredKeys },
    )
    .map((record) => record as Record<string, string>);
}

const validFileId = fc.integer({ min: 10_000, max: 100_000_000 });
const fileIdValue = fc.oneof(
  { weight: 4, arbitrary: validFileId },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const fileIdList = fc.oneof(
  { weight: 3, arbitrary: fc.array(validFileId, { minLength: 1, maxLength: 12 }) },
  { weight: 3, arbitrary: fc.array(fileIdValue, { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(validFileId, { minLength: 995, maxLength: 1_005 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const fieldName = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'fileIds', 'FILE_IDS', 'file_ids ', ''),
);
const extraFields = fc.oneof(
  { weight: 2, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
);
const joinValue = fc.oneof(
  { weight: 3, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

/** Bodies close to valid ones, so validation gets past the first check. */
const nearValidBody = fc.oneof(
  fc
    .tuple(
      fc.record({ file_ids: fileIdList, join: joinValue }, { requiredKeys: [] }),
      extraFields,
    )
    .map(([known, extra]) => ({ ...extra, ...known })),
  fc
    .tuple(fc.record({ file_id: fileIdValue }, { requiredKeys: [] }), extraFields)
    .map(([known, extra]) => ({ ...extra, ...known })),
);

/** A valid body padded past MAX_BODY_BYTES (64 KiB by default). */
const oversizedBody = JSON.stringify({ file_ids: [70_000], pad: 'x'.repeat(70_000) });

const bodyText = fc.oneof(
  { weight: 5, arbitrary: nearValidBody.map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '{', '[1,', '\ufeff{}', 'null', '"file_ids"') },
  { weight: 1, arbitrary: fc.constant(oversizedBody) },
);

const idSegment = fc.oneof(
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.uuid().map((id) => id.toUpperCase()) },
  { weight: 2, arbitrary: fc.webSegment() },
  { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%E0%A4%A', '..', '%2F', 'not-a-uuid', '') },
);

const pageQuery = fc
  .record(
    { limit: fc.oneof(fc.integer().map(String), headerText), cursor: headerText },
    { requiredKeys: [] },
  )
  .map((params) => new URLSearchParams(params).toString());
/** Strings that pass the `ids` pattern of GET /v1/exports/progress without being UUIDs. */
const uuidLookalike = fc.string({
  unit: fc.constantFrom('a', 'F', '0', '-'),
  minLength: 36,
  maxLength: 36,
});
const idsQuery = fc
  .array(fc.oneof(fc.uuid(), uuidLookalike), { maxLength: 55 })
  .map((ids) => `ids=${ids.join(',')}`);
const query = fc.oneof(fc.webQueryParameters(), pageQuery, idsQuery);

const path = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...fixedPaths),
      fc
        .tuple(fc.constantFrom(...idPathTemplates), idSegment)
        .map(([template, id]) => template.replace('{id}', id)),
      fc.webPath().map((webPath) => (webPath.startsWith('/') ? webPath : `/${webPath}`)),
    ),
    fc.option(query, { nil: undefined }),
  )
  .map(([pathname, search]) => (search ? `${pathname}?${search}` : pathname));

/** POSTs with bodies to the routes that read one. */
const bodyRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method: fc.constant('POST'),
  path: fc.constantFrom(...bodyPaths),
  headers: fc.oneof({ weight: 4, arbitrary: headersOf(['Content-Type']) }, headersOf([])),
  body: bodyText,
});

/** Any method on any path, with a body where fetch allows one. */
const anyRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    path,
    headers: headersOf([]),
    body: fc.option(bodyText, { nil: undefined }),
  })
  .map((request) => {
    const bodyless = request.method === 'GET' || request.method === 'HEAD';
    return bodyless ? { ...request, body: undefined } : request;
  });

// NOTE: bodies with a top-level key that is empty or starts with whitespace are left out,
// because their known bad message is checked on its own below.
const request = fc
  .oneof({ weight: 3, arbitrary: bodyRequest }, { weight: 2, arbitrary: anyRequest })
  .filter((generated) => !hasBlankStartingKey(bodyValueOf(generated)));

let service: RunningService;

beforeAll(async () => {
  service = await startService({
    worker: false,
    env: {
      ...generousLimits,
      // POST /v1/download/start would otherwise wait 5 s for an export that no worker runs.
      DOWNLOAD_START_WAIT_MS: '0',
    },
  });
});

afterAll(async () => {
  await service?.stop();
});

describe('random requests', () => {
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        outcomes.push(await checkResponse(generated));
      }),
      { numRuns: runs, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false },
    );
  }, timeLimitMs + 60_000);

  it('runs enough requests', () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(minimumRuns);
  });

  it('reaches accepted requests', () => {
    expect(outcomes.some((outcome) => outcome.status === 202)).toBe(true);
  });

  it.each([
    [400, 'invalid_request'],
    [400, 'invalid_json'],
    [404, 'not_found'],
    [405, 'method_not_allowed'],
    [413, 'payload_too_large'],
    [415, 'unsupported_media_type'],
  ])('reaches %i %s', (status, code) => {
    const reached = outcomes.some((outcome) => outcome.status === status && outcome.code === code);

    expect(reached).toBe(true);
  });
});

describe('unknown field with a blank name', () => {
  it.each(['', ' ', ' padded'])('explains %j in a sentence', async (name) => {
    const response = await fetch(`${service.url}/v1/export`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ [name]: 1, file_ids: [70_000] }),
    });
    const error = parseError(await response.text());

    expect(isSentence(error?.message ?? '')).toBe(true);
  });
});

/**
 * Sends `generated` and checks the response; throws, naming the request, on a violation. The
 * checks throw instead of calling expect, so fast-check can shrink the failing request.
 */
async function checkResponse(generated: FuzzRequest): Promise<Outcome> {
  const response = await fetch(`${service.url}${generated.path}`, {
    method: generated.method,
    headers: generated.headers,
    ...(generated.body === undefined ? {} : { body: generated.body }),
    redirect: 'manual',
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const text = await response.text();
  const fail = (problem: string) => {
    const sent = `${generated.method} ${generated.path}`;
    throw new Error(`${problem}: ${sent} returned ${response.status}: ${text.slice(0, 300)}`);
  };

  if (response.status >= 500) fail('Server error');
  if (response.status === 429) fail('Rate limited although the limits are off');
  if (response.status < 400) return { status: response.status };
  // HEAD responses carry no body to check.
  if (generated.method === 'HEAD') return { status: response.status };

  const isJson = response.headers.get('content-type')?.includes('application/json');
  if (!isJson) fail('Error is not JSON');
  const error = parseError(text);
  if (!error) return fail('Error body has no {"error":{"code","message"}}');
  if (!isSentence(error.message)) fail('Error message is not a sentence');
  if (response.status === 405 && !response.headers.get('allow')) fail('405 without Allow');
  if (needsField(generated, response.status, error.code)) {
    if (!error.field) fail('Body validation error names no field');
    else if (!namesSentField(error.field, generated)) fail(`Error field ${error.field} not sent`);
  }

  return { status: response.status, code: error.code };
}

/** True for a 400 on a JSON object body, which has fields that a problem can name. */
function needsField(generated: FuzzRequest, status: number, code: string): boolean {
  return status === 400 && code === 'invalid_request' && isPlainObject(bodyValueOf(generated));
}

/** True when `field` starts with a body key, a schema field, a header or a path or query name. */
function namesSentField(field: string, generated: FuzzRequest): boolean {
  const body = bodyValueOf(generated) as Record<string, unknown>;
  const candidates = [
    ...Object.keys(body),
    ...['file_ids', 'file_id', 'join', 'id', 'ids', 'limit', 'cursor'],
    ...Object.keys(generated.headers).map((name) => name.toLowerCase()),
  ];

  return candidates.some((name) => name !== '' && field.startsWith(name));
}

function bodyValueOf(generated: FuzzRequest): unknown {
  if (generated.body === undefined) return undefined;
  try {
    return JSON.parse(generated.body);
  } catch {
    return undefined;
  }
}

function hasBlankStartingKey(value: unknown): boolean {
  return isPlainObject(value) && Object.keys(value as object).some((key) => /^(\s|$)/.test(key));
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * True for a message of at least two words that starts with a visible character and contains no
 * stringified object. It may end in whitespace, because messages quote paths and values.
 */
function isSentence(message: string): boolean {
  return /^\S/.test(message) && /\S\s+\S/.test(message) && !message.includes('[object ');
}
