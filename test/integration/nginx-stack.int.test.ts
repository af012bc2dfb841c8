/**
 * The real service behind nginx, wired as `npm start` wires it: the API and the worker on a
 * private redis-server and S3 emulator, nginx in front of the API and of the emulator, and
 * presigned URLs signed for nginx's S3 address. Source reads are slowed down so that an
 * export runs for a few seconds and its SSE frames can be timed.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline, Transform } from 'node:stream';

import { EventSourceParserStream } from 'eventsource-parser/stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { type LocalNginx, startNginx, toUpstream } from '../../infra/local/nginx.js';
import { createExport, getSnapshot } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';
import { download, sha256 } from '../support/zip.js';

const MiB = 1024 * 1024;
/** Source reads run at this rate, so three 1 MiB sources take about 3 s. */
const readBytesPerSecond = 1 * MiB;
/** The shortest heartbeat interval the config allows. */
const heartbeatMs = 1_000;

const slowSources = [81_001, 81_002, 81_003];
const smallSources = [81_101, 81_102];
const missingFileId = 81_999;

let dir: string;
let testServices: TestServices;
let nginx: LocalNginx;
let service: RunningService;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nginx-stack-test-'));
  await chmod(dir, 0o755);
  testServices = await startTestServices();

  // nginx starts first, as in `npm start`: the API's port is chosen up front, and the S3
  // proxy's address must be known before the service signs any URL for it.
  const apiPort = await findFreePort();
  nginx = await startNginx({
    dir,
    apiUpstream: `127.0.0.1:${apiPort}`,
    s3Upstream: toUpstream(testServices.s3.endpoint)!,
    maxBodyBytes: 65_536,
  });
  service = await startService({
    testServices,
    env: {
      API_PORT: String(apiPort),
      S3_PUBLIC_ENDPOINT: nginx.s3Endpoint!,
      UPLOAD_MEMORY_BUDGET_MIB: '10',
      SSE_HEARTBEAT_MS: String(heartbeatMs),
      // The interleaving test sends hundreds of requests from one address.
      RATE_LIMIT_CREATE: '100000',
      RATE_LIMIT_READ: '100000',
    },
  });

  for (const fileId of [...slowSources, ...smallSources]) {
    const size = slowSources.includes(fileId) ? 1 * MiB : 256 * 1024;
    await service.putSource(fileId, randomBytes(size), `source-${fileId}.bin`);
  }
  slowDownSourceReads(service);
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await nginx?.stop();
  await testServices?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SSE through nginx', () => {
  let followed: FollowedStream;
  let accepted: number;

  beforeAll(async () => {
    const { body } = await createExport(nginx.url, slowSources);
    accepted = performance.now();
    followed = await follow(`${nginx.url}${body.progressUrl}`);
  }, 60_000);

  it('ends with the completed frame', () => {
    expect(followed.status).toBe(200);
    expect(followed.frames.at(-1)?.event).toBe('completed');
  });

  it('delivers progress frames as they happen', () => {
    const terminal = followed.frames.at(-1)!;
    const progress = followed.frames.filter((frame) => frame.event === 'progress');
    const early = progress.filter((frame) => terminal.at - frame.at > 500);
    const distinctTimes = new Set(progress.map((frame) => Math.round(frame.at / 200)));

    // The export reads 3 MiB at 1 MiB/s. Frames held back by a proxy would all arrive with
    // the terminal frame; the margins leave room for a loaded machine.
    expect(terminal.at - accepted).toBeGreaterThan(1_500);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(early.length).toBeGreaterThanOrEqual(2);
    expect(distinctTimes.size).toBeGreaterThanOrEqual(3);
  });

  it('delivers heartbeat comments while the export runs', () => {
    const terminal = followed.frames.at(-1)!;
    const during = followed.comments.filter((at) => at < terminal.at);

    expect(during.length).toBeGreaterThanOrEqual(1);
  });

  it('delivers frames in version order', () => {
    const versions = followed.frames.map((frame) => Number(frame.id));

    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });
});

describe('keepalive pool', () => {
  it('serves SSE streams and requests interleaved', async () => {
    const exports = await Promise.all(
      [0, 1, 2, 3].map(() => createExport(nginx.url, smallSources)),
    );
    const jobIds = exports.map(({ body }) => body.jobId);
    let streamsOpen = true;

    const streams = Promise.all(
      exports.map(({ body }) => follow(`${nginx.url}${body.progressUrl}`)),
    ).finally(() => {
      streamsOpen = false;
    });
    const during = await sendRequests(jobIds, () => streamsOpen, 400);
    const followed = await streams;
    // These reuse upstream connections that carried the streams that just ended.
    const after = await sendRequests(jobIds, () => true, 60);
    const statuses = [...during, ...after];

    expect(followed.map((stream) => stream.frames.at(-1)?.event)).toEqual(
      jobIds.map(() => 'completed'),
    );
    expect(during.length).toBeGreaterThanOrEqual(20);
    expect(statuses.filter((status) => status !== 200 && status !== 202)).toEqual([]);
  }, 60_000);
});

describe('download through nginx', () => {
  let final: ExportSnapshot;
  let whole: Buffer;

  beforeAll(async () => {
    const { body } = await createExport(nginx.url, smallSources);
    await follow(`${nginx.url}${body.progressUrl}`);
    final = await getSnapshot(nginx.url, body.statusUrl);
    const downloaded = await download(final.downloadUrl ?? 'missing:downloadUrl');
    expect(downloaded.status).toBe(200);
    whole = downloaded.body;
  }, 60_000);

  it('signs the URL for nginx', () => {
    expect(new URL(final.downloadUrl!).origin).toBe(nginx.s3Endpoint);
  });

  it('returns the whole zip', () => {
    expect(whole.length).toBe(final.zip?.size);
    expect(sha256(whole)).toBe(final.zip?.sha256);
  });

  it('returns a byte range', async () => {
    const response = await fetch(final.downloadUrl!, { headers: { Range: 'bytes=100-4195' } });
    const part = Buffer.from(await response.arrayBuffer());

    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 100-4195/${whole.length}`);
    expect(part.equals(whole.subarray(100, 4196))).toBe(true);
  });

  it('returns the last bytes', async () => {
    const from = whole.length - 1000;
    const response = await fetch(final.downloadUrl!, { headers: { Range: `bytes=${from}-` } });
    const part = Buffer.from(await response.arrayBuffer());

    expect(response.status).toBe(206);
    expect(part.equals(whole.subarray(from))).toBe(true);
  });

  it('rejects a changed signature', async () => {
    const url = new URL(final.downloadUrl!);
    const signature = url.searchParams.get('X-Amz-Signature')!;
    url.searchParams.set('X-Amz-Signature', signature.replace(/.$/, (c) => (c === '0' ? '1' : '0')));
    const response = await fetch(url);
    await response.arrayBuffer();

    expect(response.status).toBe(403);
  });
});

describe('API responses through nginx', () => {
  it('answers an oversized body with 413 from nginx', async () => {
    const body = JSON.stringify({ file_ids: [10_000], padding: 'x'.repeat(70_000) });
    const viaNginx = await postJson(`${nginx.url}/v1/export`, body);
    const direct = await postJson(`${service.url}/v1/export`, body);

    expect(viaNginx.status).toBe(413);
    // Only the API sets X-Request-ID on its responses.
    expect(viaNginx.headers.get('x-request-id')).toBeNull();
    expect(direct.status).toBe(413);
    expect(viaNginx.body.error.code).toBe(direct.body.error.code);
  });

  it('passes the API headers through', async () => {
    const direct = await fetch(`${service.url}/health`);
    const viaNginx = await fetch(`${nginx.url}/health`);
    await Promise.all([direct.arrayBuffer(), viaNginx.arrayBuffer()]);
    const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);
    const fixed = /^(x-content-type-options|x-frame-options|strict-transport-security|content-security-policy|referrer-policy|cross-origin-.*)$/;

    expect(viaNginx.status).toBe(direct.status);
    for (const [name, value] of direct.headers) {
      if (hopByHop.has(name)) continue;
      expect(viaNginx.headers.has(name), name).toBe(true);
      if (fixed.test(name)) expect(viaNginx.headers.get(name), name).toBe(value);
    }
  });
});

/** One SSE event or comment line with its arrival time in ms (performance.now()). */
interface TimedFrame {
  id: string | undefined;
  event: string | undefined;
  data: ExportSnapshot;
  at: number;
}

interface FollowedStream {
  status: number;
  frames: TimedFrame[];
  /** Arrival times of comment lines, the API's heartbeats. */
  comments: number[];
}

/** Reads an SSE stream to its end and records when each frame and comment arrived. */
async function follow(url: string): Promise<FollowedStream> {
  const comments: number[] = [];
  const response = await fetch(url, {
    headers: { Accept: 'text/event-stream' },
    signal: AbortSignal.timeout(45_000),
  });
  const parser = new EventSourceParserStream({ onComment: () => comments.push(performance.now()) });
  const frames: TimedFrame[] = [];

  for await (const message of response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(parser)) {
    const data = JSON.parse(message.data) as ExportSnapshot;
    frames.push({ id: message.id, event: message.event, data, at: performance.now() });
  }

  return { status: response.status, frames, comments };
}

/**
 * Sends GETs and POSTs four at a time while `keepGoing` returns true, up to `limit` requests,
 * and returns their statuses.
 */
async function sendRequests(
  jobIds: string[],
  keepGoing: () => boolean,
  limit: number,
): Promise<number[]> {
  const statuses: number[] = [];
  const requests = [
    () => fetch(`${nginx.url}/health`),
    () => fetch(`${nginx.url}/v1/export/${jobIds[statuses.length % jobIds.length]}`),
    () => fetch(`${nginx.url}/v1/download/status/${jobIds[0]}`),
    () => postJson(`${nginx.url}/v1/export`, JSON.stringify({ file_ids: [missingFileId] })),
  ];

  while (keepGoing() && statuses.length < limit) {
    const responses = await Promise.all(requests.map((send) => send()));
    for (const response of responses) {
      if (response instanceof Response) await response.arrayBuffer();
      statuses.push(response.status);
    }
  }

  return statuses;
}

async function postJson(url: string, body: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  const text = await response.text();
  const parsed = text.startsWith('{') ? (JSON.parse(text) as { error: { code: string } }) : null;

  return { status: response.status, headers: response.headers, body: parsed ?? { error: { code: text } } };
}

/** Slows every source read of the worker to `readBytesPerSecond`. */
function slowDownSourceReads(running: RunningService): void {
  const store = running.services.deps.store;
  const read = store.read.bind(store);

  vi.spyOn(store, 'read').mockImplementation(async (bucket, key, signal) => {
    const source = await read(bucket, key, signal);
    if (source === null) return null;

    // pipeline passes a failed or aborted read on to the throttled stream.
    const slowed = throttle();
    pipeline(source, slowed, () => {});
    return slowed;
  });
}

function throttle(): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const waitMs = (chunk.length / readBytesPerSecond) * 1000;
      setTimeout(() => callback(null, chunk), waitMs);
    },
  });
}

async function findFreePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));

  return port;
}
