import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { toRetryDecision } from '../runtime/error-mapping.js';
import { memoryJobContext } from '../test/memory/context.js';
import type { MemoryDeps } from '../test/memory/deps.js';
import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';
import { collectGarbage, keepTimeoutSignals } from '../test/support/gc.js';
import { buildExport } from './build-export.js';
import { fileNameMetadataKey } from './lib/entry-name.js';
import { sourceKey } from './lib/preflight.js';

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

interface BuildInput {
  exportId: string;
  fileIds: number[];
}

/** How long the fake worker's build takes on the manual clock. */
const buildMs = 1_500;

/**
 * Runs every enqueued build to its end before `enqueue` returns, as the fastest possible
 * worker would, with one attempt so a failure is final. Other jobs are only recorded.
 */
function runBuildsOnEnqueue(deps: MemoryDeps): void {
  const enqueue = deps.queue.enqueue.bind(deps.queue);
  deps.queue.enqueue = async (name, data, options) => {
    await enqueue(name, data, options);
    if (name !== buildExport.name) return;

    deps.clock.advance(buildMs);
    await runBuild(deps, data as BuildInput);
  };
}

async function runBuild(deps: MemoryDeps, input: BuildInput): Promise<void> {
  const context = memoryJobContext({ jobId: input.exportId, maxAttempts: 1 });
  try {
    await buildExport.handler(input, deps, context);
  } catch (error) {
    const { code, message } = toRetryDecision(error);
    await buildExport.onFailure?.(input, deps, context, { code, message, final: true });
  }
}

function setup(options: { worker: boolean; startWaitMs?: number }) {
  const { app, deps } = memoryHttpApp();
  // Short, so that a test that misses the end fails in a second rather than five.
  deps.legacy.startWaitMs = options.startWaitMs ?? 1_000;
  if (options.worker) runBuildsOnEnqueue(deps);
  const key = sourceKey(deps.settings.sourceKeyTemplate, 10001);
  deps.store.put(deps.settings.sourceBucket, key, 'x'.repeat(3_000), {
    [fileNameMetadataKey]: encodeURIComponent('report.pdf'),
  });

  const start = async (body: string, init: RequestInit = {}) =>
    app.request('/v1/download/start', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      ...init,
    });

  return { app, deps, start };
}

describe('POST /v1/download/start', () => {
  // A garbage collection during the wait would make it endless (see the GC test below).
  let restoreTimeouts: () => void;
  beforeEach(() => {
    restoreTimeouts = keepTimeoutSignals();
  });
  afterEach(() => restoreTimeouts());

  it('returns 200 when the export completes', async () => {
    const { deps, start } = setup({ worker: true });
    const response = await start('{"file_id":10001}');
    const body = await readJson<StartBody>(response);
    const record = await deps.records.get(body.jobId);

    expect(response.status).toBe(200);
    expect(body.file_id).toBe(10001);
    expect(body.status).toBe('completed');
    expect(body.downloadUrl).toBe(record?.downloadUrl);
    expect(body.downloadUrl).toMatch(/^http:\/\/127\.0\.0\.1:9000\/exports\//);
  });

  it('reports the source size', async () => {
    const { start } = setup({ worker: true });
    const body = await readJson<StartBody>(await start('{"file_id":10001}'));

    expect(body.size).toBe(3_000);
  });

  it('reports the processing time', async () => {
    const { start } = setup({ worker: true });
    const body = await readJson<StartBody>(await start('{"file_id":10001}'));

    expect(body.processingTimeMs).toBe(buildMs);
  });

  it('returns 200 failed for a missing file', async () => {
    const { start } = setup({ worker: true });
    const response = await start('{"file_id":10002}');
    const body = await readJson<StartBody>(response);

    expect(response.status).toBe(200);
    expect(body.status).toBe('failed');
    expect(body.downloadUrl).toBeNull();
    expect(body.size).toBeNull();
    expect(body.message).toContain('could not be exported');
  });

  it('returns 202 when slower than the wait', async () => {
    const { deps, start } = setup({ worker: false, startWaitMs: 30 });
    const response = await start('{"file_id":10001}');
    const body = await readJson<StartBody>(response);
    const record = await deps.records.get(body.jobId);

    expect(response.status).toBe(202);
    expect(body.status).toBe('queued');
    expect(record?.status).toBe('queued');
    expect(body.statusUrl).toBe(`/v1/download/status/${body.jobId}`);
    expect(body.subscribeUrl).toBe(`/v1/download/subscribe/${body.jobId}`);
    expect(response.headers.get('location')).toBe(body.statusUrl);
  });

  it('waits about startWaitMs', async () => {
    const { start } = setup({ worker: false, startWaitMs: 200 });
    const startedAt = performance.now();
    const response = await start('{"file_id":10001}');
    await response.body?.cancel();
    const elapsedMs = performance.now() - startedAt;

    expect(elapsedMs).toBeGreaterThanOrEqual(190);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it('enqueues one build', async () => {
    const { deps, start } = setup({ worker: false, startWaitMs: 10 });
    const body = await readJson<StartBody>(await start('{"file_id":10001}'));

    expect(deps.queue.jobs).toEqual([
      {
        name: 'build-export',
        data: { exportId: body.jobId, fileIds: [10001] },
        options: { jobId: body.jobId, attempts: deps.jobs.attempts },
      },
    ]);
  });
});

describe('POST /v1/download/start wait', () => {
  it('ends the wait after a garbage collection', async () => {
    const { start } = setup({ worker: false, startWaitMs: 200 });
    const client = new AbortController();
    const responding = start('{"file_id":10001}', { signal: client.signal });
    setTimeout(collectGarbage, 20);
    const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 1_000));
    const outcome = await Promise.race([responding.then((response) => response.status), late]);
    // Ends a request that is still waiting, so it leaves no follower behind.
    client.abort();

    expect(outcome).toBe(202);
  });
});

describe('POST /v1/download/start followers', () => {
  let restoreTimeouts: () => void;
  beforeEach(() => {
    restoreTimeouts = keepTimeoutSignals();
  });
  afterEach(() => restoreTimeouts());

  it('leaves no follower after completion', async () => {
    const { deps, start } = setup({ worker: true, startWaitMs: 60_000 });
    const response = await start('{"file_id":10001}');
    await response.body?.cancel();

    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0));
  });

  it('leaves no follower after the wait', async () => {
    const { deps, start } = setup({ worker: false, startWaitMs: 30 });
    const response = await start('{"file_id":10001}');
    await response.body?.cancel();

    expect(deps.records.followerCount()).toBe(0);
  });

  it('leaves no follower on client abort', async () => {
    const { deps, start } = setup({ worker: false, startWaitMs: 60_000 });
    const controller = new AbortController();
    const responding = start('{"file_id":10001}', { signal: controller.signal });
    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(1));
    controller.abort();
    await responding.then((response) => response.body?.cancel()).catch(() => undefined);

    await vi.waitFor(() => expect(deps.records.followerCount()).toBe(0), { timeout: 2_000 });
  });
});

describe('POST /v1/download/start rejections', () => {
  const invalidBodies: Array<[string, string, string]> = [
    ['an id below range', '{"file_id":9999}', 'file_id'],
    ['a string id', '{"file_id":"10001"}', 'file_id'],
    ['no file_id', '{}', 'file_id'],
    ['an unknown field', '{"file_id":10001,"wait":true}', 'wait'],
  ];

  it.each(invalidBodies)('rejects %s', async (_case, body, field) => {
    const { deps, start } = setup({ worker: false });
    const response = await start(body);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(400);
    expect(error.field).toBe(field);
    expect(deps.queue.jobs).toHaveLength(0);
    expect(deps.records.followerCount()).toBe(0);
  });
});
