/**
 * The older download API through nginx, as its clients reach it. The API and the worker run
 * on a private redis-server and S3 emulator with nginx in front of both, and presigned URLs
 * are signed for nginx's S3 address. A second API with small budgets, behind its own nginx,
 * goes over the rate limits without starving the other tests.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { type LocalNginx, startNginx, toUpstream } from '../../infra/local/nginx.js';
import { getSnapshot, waitFor } from '../support/api.js';
import { collectGarbage, keepTimeoutSignals } from '../support/gc.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { findFreePort } from '../support/processes.js';
import { waitForRoomInWindow } from '../support/rate-window.js';
import { type RunningService, startService } from '../support/service.js';
import { readSse } from '../support/sse.js';
import { download, readZipEntries } from '../support/zip.js';

const maxBodyBytes = 65_536;
/** The default DOWNLOAD_START_WAIT_MS, which the older clients were built around. */
const startWaitMs = 5_000;

const smallFileId = 82_001;
const secondFileId = 82_002;
/** Its reads wait until the test releases them, so its exports outlast the start wait. */
const slowFileId = 82_003;
const missingFileId = 82_999;

/** A well-formed export id that no export has. */
const exampleId = '00000000-0000-4000-8000-000000000000';

const limitedRead = 3;
const limitedWindowSeconds = 3_600;

const sources = new Map<number, Buffer>([
  [smallFileId, randomBytes(200 * 1024)],
  [secondFileId, randomBytes(64 * 1024)],
  [slowFileId, randomBytes(16 * 1024)],
]);

let dir: string;
let testServices: TestServices;
let nginx: LocalNginx;
let service: RunningService;
let limitedNginx: LocalNginx;
let limited: RunningService;
let releaseSlowReads: () => void;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'legacy-api-test-'));
  // Under root, nginx's workers run as the user `nobody`, which must be able to enter it.
  await chmod(dir, 0o755);
  testServices = await startTestServices();

  const apiPort = await findFreePort();
  nginx = await startNginx({
    dir: path.join(dir, 'nginx'),
    apiUpstream: `127.0.0.1:${apiPort}`,
    s3Upstream: toUpstream(testServices.s3.endpoint)!,
    maxBodyBytes,
  });
  service = await startService({
    testServices,
    env: {
      API_PORT: String(apiPort),
      S3_PUBLIC_ENDPOINT: nginx.s3Endpoint!,
      // Each held export of the slow file takes a slot until the end of the file.
      WORKER_CONCURRENCY: '8',
      RATE_LIMIT_CREATE: '100000',
      RATE_LIMIT_READ: '100000',
    },
  });
  for (const [fileId, bytes] of sources) {
    await service.putSource(fileId, bytes, `legacy-${fileId}.bin`);
  }
  releaseSlowReads = holdReadsOf(service, slowFileId);

  const limitedPort = await findFreePort();
  limitedNginx = await startNginx({
    dir: path.join(dir, 'limited-nginx'),
    apiUpstream: `127.0.0.1:${limitedPort}`,
    maxBodyBytes,
  });
  limited = await startService({
    testServices,
    worker: false,
    env: {
      API_PORT: String(limitedPort),
      RATE_LIMIT_READ: String(limitedRead),
      RATE_LIMIT_CREATE: '1',
      RATE_LIMIT_WINDOW_SECONDS: String(limitedWindowSeconds),
    },
  });
}, 60_000);

afterAll(async () => {
  releaseSlowReads?.();
  await service?.stop();
  await limited?.stop();
  await nginx?.stop();
  await limitedNginx?.stop();
  await testServices?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface InitiatedBody {
  jobId: string;
  status: string;
  totalFileIds: number;
  statusUrl: string;
  subscribeUrl: string;
}

interface CheckBody {
  file_id: number;
  available: boolean;
  s3Key: string | null;
  size: number | null;
}

interface StartBody {
  file_id: number;
  jobId: string;
  status: string;
  message: string;
  downloadUrl?: string | null;
  size?: number | null;
  processingTimeMs?: number;
  statusUrl?: string;
  subscribeUrl?: string;
}

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Makes the worker's reads of `fileId` wait until the returned function is called. */
function holdReadsOf(running: RunningService, fileId: number): () => void {
  const store = running.services.deps.store;
  const read = store.read.bind(store);
  const key = running.config.sourceKeyTemplate.replaceAll('{file_id}', String(fileId));
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });

  vi.spyOn(store, 'read').mockImplementation(async (bucket, objectKey, signal) => {
    if (objectKey === key) await released;
    return read(bucket, objectKey, signal);
  });

  return release;
}

async function postJson(
  baseUrl: string,
  route: string,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
) {
  return fetch(`${baseUrl}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

async function sizeOfSource(fileId: number): Promise<number | undefined> {
  const key = service.config.sourceKeyTemplate.replaceAll('{file_id}', String(fileId));
  const command = new HeadObjectCommand({ Bucket: service.config.sourceBucket, Key: key });

  return (await service.s3Client.send(command)).ContentLength;
}

describe('GET /', () => {
  it('returns the greeting', async () => {
    const response = await fetch(`${nginx.url}/`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'Hello Hono!' });
  });
});

describe('POST /v1/download/initiate', () => {
  let response: Response;
  let initiated: InitiatedBody;

  beforeAll(async () => {
    response = await postJson(nginx.url, '/v1/download/initiate', {
      file_ids: [smallFileId, secondFileId, smallFileId],
    });
    initiated = (await response.json()) as InitiatedBody;
  });

  it('returns 200 with the job', () => {
    expect(response.status).toBe(200);
    expect(initiated.status).toBe('queued');
    expect(initiated.totalFileIds).toBe(2);
    expect(initiated.statusUrl).toBe(`/v1/download/status/${initiated.jobId}`);
    expect(initiated.subscribeUrl).toBe(`/v1/download/subscribe/${initiated.jobId}`);
  });

  it('completes on the subscribe URL', async () => {
    const { status, frames } = await readSse(`${nginx.url}${initiated.subscribeUrl}`);

    expect(status).toBe(200);
    expect(frames.at(-1)?.event).toBe('completed');
    expect(frames.at(-1)?.data.jobId).toBe(initiated.jobId);
  });

  it('completes on the status URL', async () => {
    const snapshot = await waitForLegacyEnd(initiated.statusUrl);

    expect(snapshot.status).toBe('completed');
    expect(snapshot.progress.filesDone).toBe(2);
  });

  it('downloads both files', async () => {
    const snapshot = await waitForLegacyEnd(initiated.statusUrl);
    const zip = await download(snapshot.downloadUrl ?? 'missing:downloadUrl');
    const entries = await readZipEntries(zip.body);

    expect(zip.status).toBe(200);
    expect(entries.map((entry) => entry.name).sort()).toEqual([
      `legacy-${smallFileId}.bin`,
      `legacy-${secondFileId}.bin`,
    ]);
    expect(entries.every((entry) => entry.bytes.equals(sourceOf(entry.comment)))).toBe(true);
  });

  it('rejects id 9999', async () => {
    const rejected = await postJson(nginx.url, '/v1/download/initiate', { file_ids: [9_999] });
    const { error } = (await rejected.json()) as ErrorBody;

    expect(rejected.status).toBe(400);
    expect(error.field).toBe('file_ids[0]');
  });
});

describe('POST /v1/download/check', () => {
  it('finds an existing file', async () => {
    const response = await postJson(nginx.url, '/v1/download/check', { file_id: smallFileId });
    const body = (await response.json()) as CheckBody;

    expect(response.status).toBe(200);
    expect(body.file_id).toBe(smallFileId);
    expect(body.available).toBe(true);
    expect(body.s3Key).toBe(`downloads/${smallFileId}.zip`);
    expect(body.size).toBe(await sizeOfSource(smallFileId));
    expect(body.size).toBe(sources.get(smallFileId)?.length);
  });

  it('reports a missing file', async () => {
    const response = await postJson(nginx.url, '/v1/download/check', { file_id: missingFileId });
    const body = (await response.json()) as CheckBody;

    expect(response.status).toBe(200);
    expect(body).toEqual({ file_id: missingFileId, available: false, s3Key: null, size: null });
  });

  it('rejects id 9999', async () => {
    const response = await postJson(nginx.url, '/v1/download/check', { file_id: 9_999 });
    const { error } = (await response.json()) as ErrorBody;

    expect(response.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('file_id');
  });
});

describe('POST /v1/download/start', () => {
  // A garbage collection during the wait would make it endless; see the test of that below.
  let restoreTimeouts: () => void;
  beforeAll(() => {
    restoreTimeouts = keepTimeoutSignals();
  });
  afterAll(() => restoreTimeouts());

  it('returns 200 for a small file', async () => {
    const response = await postJson(nginx.url, '/v1/download/start', { file_id: smallFileId });
    const body = (await response.json()) as StartBody;

    expect(response.status).toBe(200);
    expect(body.status).toBe('completed');
    expect(body.file_id).toBe(smallFileId);
    expect(body.size).toBe(sources.get(smallFileId)?.length);
    expect(body.processingTimeMs).toBeGreaterThanOrEqual(0);
    expect(body.processingTimeMs).toBeLessThan(startWaitMs);
    expect(new URL(body.downloadUrl ?? 'missing:downloadUrl').origin).toBe(nginx.s3Endpoint);
  });

  it('downloads the file byte for byte', async () => {
    const response = await postJson(nginx.url, '/v1/download/start', { file_id: smallFileId });
    const body = (await response.json()) as StartBody;
    const zip = await download(body.downloadUrl ?? 'missing:downloadUrl');
    const entries = await readZipEntries(zip.body);

    expect(zip.status).toBe(200);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.name).toBe(`legacy-${smallFileId}.bin`);
    expect(entries[0]?.comment).toBe(`file_id=${smallFileId}`);
    expect(entries[0]?.bytes.equals(sources.get(smallFileId)!)).toBe(true);
  });

  it('returns 200 failed for a missing file', async () => {
    const response = await postJson(nginx.url, '/v1/download/start', { file_id: missingFileId });
    const body = (await response.json()) as StartBody;

    expect(response.status).toBe(200);
    expect(body.status).toBe('failed');
    expect(body.downloadUrl).toBeNull();
  });

  it('returns 202 for a slow export', async () => {
    const startedAt = performance.now();
    const response = await postJson(nginx.url, '/v1/download/start', { file_id: slowFileId });
    const elapsedMs = performance.now() - startedAt;
    const body = (await response.json()) as StartBody;

    expect(response.status).toBe(202);
    expect(elapsedMs).toBeGreaterThanOrEqual(startWaitMs - 100);
    expect(elapsedMs).toBeLessThan(startWaitMs + 2_000);
    expect(body.statusUrl).toBe(`/v1/download/status/${body.jobId}`);
    expect(body.subscribeUrl).toBe(`/v1/download/subscribe/${body.jobId}`);
    expect(response.headers.get('location')).toBe(body.statusUrl);
  }, 15_000);

  it('serves the 202 status URL', async () => {
    const response = await postJson(nginx.url, '/v1/download/start', { file_id: slowFileId });
    const body = (await response.json()) as StartBody;
    const snapshot = await getSnapshot(nginx.url, body.statusUrl ?? 'missing:statusUrl');

    expect(snapshot.jobId).toBe(body.jobId);
    expect(snapshot.status).toBe('processing');
  }, 15_000);

  it('rejects id 9999', async () => {
    const response = await postJson(nginx.url, '/v1/download/start', { file_id: 9_999 });
    const { error } = (await response.json()) as ErrorBody;

    expect(response.status).toBe(400);
    expect(error.field).toBe('file_id');
  });
});

describe('POST /v1/download/start wait', () => {
  it('answers 202 after a garbage collection', async () => {
    // A plain timer, because an AbortSignal.timeout here could be collected too.
    const client = new AbortController();
    const giveUp = setTimeout(() => client.abort(), startWaitMs + 2_000);
    const collect = setTimeout(collectGarbage, 200);
    const body = { file_id: slowFileId };
    const response = await postJson(nginx.url, '/v1/download/start', body, {
      signal: client.signal,
    }).catch(() => undefined);
    clearTimeout(giveUp);
    clearTimeout(collect);

    expect(response?.status).toBe(202);
  }, 15_000);
});

describe('headers on every answer', () => {
  /** One request per kind of response, each with its own X-Request-ID. */
  const answers: Array<[string, (requestId: string) => Promise<Response>]> = [
    ['200 GET /', (id) => fetch(`${nginx.url}/`, withHeaders(id))],
    ['200 check', (id) => check(smallFileId, id)],
    ['400 check', (id) => check(9_999, id)],
    ['404', (id) => fetch(`${nginx.url}/v1/download/nothing`, withHeaders(id))],
    ['405', (id) => fetch(`${nginx.url}/v1/download/initiate`, withHeaders(id))],
    ['SSE', (id) => fetch(`${nginx.url}/v1/download/subscribe/${completedJobId}`, withHeaders(id))],
  ];
  let completedJobId: string;

  beforeAll(async () => {
    const response = await postJson(nginx.url, '/v1/download/start', { file_id: secondFileId });
    completedJobId = ((await response.json()) as StartBody).jobId;
  });

  it.each(answers)('echo X-Request-ID on %s', async (name, send) => {
    const requestId = `legacy-${name.replace(/\W+/g, '-')}`;
    const response = await send(requestId);
    await response.arrayBuffer();

    expect(response.headers.get('x-request-id')).toBe(requestId);
  });

  it.each(answers)('carry security headers on %s', async (_name, send) => {
    const response = await send('legacy-security');
    await response.arrayBuffer();

    expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(response.headers.get('x-frame-options')).toMatch(/^(DENY|SAMEORIGIN)$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it.each(answers)('carry CORS headers on %s', async (_name, send) => {
    const response = await send('legacy-cors');
    await response.arrayBuffer();
    const exposed = response.headers.get('access-control-expose-headers') ?? '';

    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(exposed).toContain('X-Request-ID');
    expect(exposed).toContain('RateLimit-Remaining');
  });

  it.each(answers)('carry RateLimit headers on %s', async (_name, send) => {
    const response = await send('legacy-limits');
    await response.arrayBuffer();

    expect(response.headers.get('ratelimit-limit')).toMatch(/^\d+$/);
    expect(response.headers.get('ratelimit-remaining')).toMatch(/^\d+$/);
    expect(response.headers.get('ratelimit-reset')).toMatch(/^\d+$/);
  });

  it('makes an X-Request-ID when none is sent', async () => {
    const response = await fetch(`${nginx.url}/`);
    await response.arrayBuffer();

    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('answers a preflight with CORS headers', async () => {
    const response = await fetch(`${nginx.url}/v1/download/start`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://legacy.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    await response.arrayBuffer();

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  });
});

describe('errors', () => {
  it.each(['/v1/download/nothing', '/v2/download/start', '/v1/download'])(
    'returns 404 JSON for %s',
    async (route) => {
      const response = await fetch(`${nginx.url}${route}`);
      const { error } = (await response.json()) as ErrorBody;

      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(error.code).toBe('not_found');
    },
  );

  const wrongMethods: Array<[string, string, string]> = [
    ['GET', '/v1/download/initiate', 'POST, OPTIONS'],
    ['GET', '/v1/download/start', 'POST, OPTIONS'],
    ['PUT', '/v1/download/check', 'POST, OPTIONS'],
    ['POST', '/', 'GET, HEAD, OPTIONS'],
    ['DELETE', `/v1/download/status/${exampleId}`, 'GET, HEAD, OPTIONS'],
  ];

  it.each(wrongMethods)('returns 405 for %s %s', async (method, route, allow) => {
    const response = await fetch(`${nginx.url}${route}`, { method });
    const { error } = (await response.json()) as ErrorBody;

    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('allow')).toBe(allow);
    expect(error.code).toBe('method_not_allowed');
  });
});

describe('rate limits through nginx', () => {
  let statuses: number[];
  let over: Response;
  let overBody: ErrorBody;

  beforeAll(async () => {
    await waitForRoomInWindow(limitedWindowSeconds, 10_000);
    statuses = [];
    for (let index = 0; index < limitedRead; index++) {
      const response = await fetch(`${limitedNginx.url}/`);
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    over = await fetch(`${limitedNginx.url}/`, {
      headers: { 'X-Request-ID': 'legacy-over-limit', Origin: 'https://legacy.example' },
    });
    overBody = (await over.json()) as ErrorBody;
  });

  it('answers within the budget', () => {
    expect(statuses).toEqual(Array.from({ length: limitedRead }, () => 200));
  });

  it('returns 429 past the budget', () => {
    expect(over.status).toBe(429);
    expect(over.headers.get('content-type')).toContain('application/json');
    expect(overBody.error.code).toBe('rate_limited');
  });

  it('sends Retry-After with the 429', () => {
    const retryAfter = Number(over.headers.get('retry-after'));

    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(limitedWindowSeconds);
  });

  it('sends RateLimit headers with the 429', () => {
    expect(over.headers.get('ratelimit-limit')).toBe(String(limitedRead));
    expect(over.headers.get('ratelimit-remaining')).toBe('0');
    expect(over.headers.get('ratelimit-reset')).toBe(over.headers.get('retry-after'));
  });

  it('sends the usual headers with the 429', () => {
    expect(over.headers.get('x-request-id')).toBe('legacy-over-limit');
    expect(over.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(over.headers.get('x-frame-options')).toMatch(/^(DENY|SAMEORIGIN)$/);
    expect(over.headers.get('x-content-type-options')).toBe('nosniff');
    expect(over.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('never limits /health', async () => {
    const response = await fetch(`${limitedNginx.url}/health`);
    await response.arrayBuffer();

    expect(response.status).toBe(200);
  });
});

function check(fileId: number, requestId: string): Promise<Response> {
  const init = { headers: headersOf(requestId) };

  return postJson(nginx.url, '/v1/download/check', { file_id: fileId }, init);
}

function headersOf(requestId: string): Record<string, string> {
  return { 'X-Request-ID': requestId, Origin: 'https://legacy.example' };
}

function withHeaders(requestId: string): RequestInit {
  return { headers: headersOf(requestId) };
}

/** Returns the source whose id is in an entry comment such as `file_id=82001`. */
function sourceOf(comment: string): Buffer {
  const fileId = Number(comment.replace('file_id=', ''));

  return sources.get(fileId) ?? Buffer.alloc(0);
}

/** Polls a status path of the older API through nginx until the export has ended. */
function waitForLegacyEnd(statusUrl: string): Promise<ExportSnapshot> {
  return waitFor(
    async () => {
      const snapshot = await getSnapshot(nginx.url, statusUrl);
      const ended = snapshot.status === 'completed' || snapshot.status === 'failed';
      return ended ? snapshot : undefined;
    },
    { description: `${statusUrl} to complete or fail` },
  );
}
