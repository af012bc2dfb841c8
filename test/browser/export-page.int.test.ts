/**
 * The export page in headless Chromium, served by nginx in front of the real stack. A user
 * selects files, exports them, watches the progress, downloads the zip through the API's
 * redirect and compares it with the sources. A failed export shows its reason and gets
 * retried. An export request whose response is lost is sent again with the same
 * Idempotency-Key, which returns the export that it started. A download after the zip was
 * deleted marks the export expired and keeps the page.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Page, Request, Response, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createExport, getSnapshot, waitFor, waitForEnd } from '../support/api.js';
import { type LaunchedBrowser, launchChromium } from './support/browser.js';
import {
  distinct,
  downloadZip,
  exportItem,
  openPage,
  putSources,
  selectSources,
  type Source,
  sourceDigests,
  startExport,
  waitUntilReady,
  type WatchedExport,
  watchExport,
  zipDigests,
} from './support/page.js';
import { type BrowserStack, startBrowserStack } from './support/stack.js';

const MiB = 1024 * 1024;

let stack: BrowserStack;
let browser: LaunchedBrowser;
let slow: Source[];
let small: Source[];

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  // Three 1 MiB sources read at 1 MiB/s: an export of them runs for about 3 s.
  stack = await startBrowserStack({ readBytesPerSecond: 1 * MiB });
  slow = await putSources(stack, [82_001, 82_002, 82_003], 1 * MiB);
  small = await putSources(stack, [82_101, 82_102], 16 * 1024);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('page files through nginx', () => {
  it('serves the page as HTML', async () => {
    const response = await fetch(stack.pageUrl);
    await response.arrayBuffer();

    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('serves modules as JavaScript', async () => {
    const response = await fetch(`${stack.pageUrl}app.js`);
    await response.arrayBuffer();

    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('allows only its own origin', async () => {
    const response = await fetch(stack.pageUrl);
    await response.arrayBuffer();

    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
  });

  it('redirects /app to /app/', async () => {
    const response = await fetch(`${stack.nginx.url}/app`, { redirect: 'manual' });
    await response.arrayBuffer();

    expect(response.headers.get('location')).toBe('/app/');
  });

  it('keeps GET / on the API', async () => {
    const response = await fetch(`${stack.nginx.url}/`);

    expect(await response.json()).toEqual({ message: 'Hello Hono!' });
  });
});

describe('export of selected files', () => {
  let page: Page;
  let jobId: string;
  let watched: WatchedExport;
  let zip: Buffer;
  const requests: Request[] = [];
  const responses: Response[] = [];

  beforeAll(async () => {
    page = await browser.context.newPage();
    page.on('request', (request) => requests.push(request));
    page.on('response', (response) => responses.push(response));
    await page.goto(stack.pageUrl);
    await waitUntilReady(page);
    await selectSources(page, slow);
    jobId = await startExport(page);
    watched = await watchExport(page, jobId);
    zip = await downloadZip(page, jobId);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('exports the selected files', async () => {
    const snapshot = await getSnapshot(stack.nginx.url, `/v1/export/${jobId}`);

    expect(snapshot.progress.filesTotal).toBe(slow.length);
  });

  it('shows the progress rising', () => {
    const during = distinct(watched.values).filter((value) => value > 0 && value < 100);

    expect(watched.status).toBe('completed');
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(during).toEqual([...during].sort((a, b) => a - b));
  });

  it('ends at 100%', () => {
    expect(watched.values.at(-1)).toBe(100);
  });

  it('shows files and bytes done', () => {
    expect(watched.details.at(-1)).toBe('100% · 3 of 3 files · 3.0 MiB of 3.0 MiB');
  });

  it('estimates the time left', () => {
    expect(watched.details.some((text) => /about \d+ s left$/.test(text))).toBe(true);
  });

  it('announces the progress', () => {
    expect(watched.announcements.some((text) => /^Export \w{8}: \d+% done\.$/.test(text))).toBe(
      true,
    );
  });

  it('links the download endpoint', async () => {
    const href = await exportItem(page, jobId).getByRole('link').getAttribute('href');
    const url = new URL(href ?? '');

    expect(url.origin).toBe(stack.nginx.url);
    expect(url.pathname).toBe(`/v1/export/${jobId}/download`);
    expect(url.search).toBe('');
  });

  it('downloads through the redirect', () => {
    const redirect = responses.find(
      (response) => new URL(response.url()).pathname === `/v1/export/${jobId}/download`,
    );

    expect(redirect?.status()).toBe(302);
    expect(new URL(redirect?.headers().location ?? '').origin).toBe(stack.nginx.s3Endpoint);
  });

  it('never asks for a key', async () => {
    const withKey = await Promise.all(
      requests.map((request) => request.headerValue('authorization')),
    );

    expect(await page.locator('#api-key').isHidden()).toBe(true);
    expect(responses.filter((response) => response.status() === 401)).toEqual([]);
    expect(withKey.filter((header) => header !== null)).toEqual([]);
  });

  it('streams without a token', () => {
    const streams = requests.filter((request) => request.url().includes('/v1/exports/progress?'));

    expect(streams.length).toBeGreaterThanOrEqual(1);
    expect(streams.filter((request) => request.url().includes('token='))).toEqual([]);
  });

  it('sends an Idempotency-Key', async () => {
    const create = requests.find((request) => request.method() === 'POST');

    expect(await create?.headerValue('idempotency-key')).toMatch(uuid);
  });

  it('downloads the sources as a zip', async () => {
    expect(await zipDigests(zip)).toEqual(sourceDigests(slow));
  });
});

describe('source selection', () => {
  let page: Page;

  beforeAll(async () => {
    page = await openPage(browser.context, stack.pageUrl);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('selects a whole page', async () => {
    await page.getByLabel('Select all files on this page').check();

    await expect(page.locator('#selection-summary').textContent()).resolves.toMatch(/^5 selected/);
  });

  it('clears the selection', async () => {
    await page.getByRole('button', { name: 'Clear selection' }).click();

    expect(await page.locator('#files-body input:checked').count()).toBe(0);
  });

  it('selects every file', async () => {
    await page.getByRole('button', { name: 'Select all files' }).click();
    await page.locator('#selection-summary', { hasText: '5 selected' }).waitFor();

    expect(await page.locator('#files-body input:checked').count()).toBe(5);
  });

  it('exports with the keyboard', async () => {
    await page.getByRole('button', { name: 'Clear selection' }).click();
    await page.getByLabel(small[0]!.name, { exact: true }).focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Export selected files' }).focus();
    const jobId = await startExport(page, () => page.keyboard.press('Enter'));
    const watched = await watchExport(page, jobId);

    expect(watched.status).toBe('completed');
  });
});

describe('failed export', () => {
  let page: Page;
  let failedId: string;
  let retryId: string;
  const source = (): Source => small[1]!;

  beforeAll(async () => {
    page = await openPage(browser.context, stack.pageUrl);
    await selectSources(page, [source()]);
    // The only file is gone by the time the export runs, so the export fails at once.
    await stack.deleteSource(source().fileId);
    failedId = await startExport(page);
    await watchExport(page, failedId);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('shows the reason', async () => {
    const text = await exportItem(page, failedId).locator('.error').textContent();

    expect(text).toMatch(/^Export failed: \S/);
  });

  it('lists the missing file', async () => {
    const text = await exportItem(page, failedId).locator('.missing').textContent();

    expect(text).toContain(String(source().fileId));
  });

  it('retries from the keyboard', async () => {
    await stack.putSource(source().fileId, source().bytes, source().name);
    await exportItem(page, failedId).getByRole('button', { name: /^Retry/ }).focus();
    await page.keyboard.press('Enter');
    // The page moves the focus to the heading of the new export.
    const focused = page.locator('li.export:has(h3:focus)');
    await focused.waitFor();
    retryId = (await focused.getAttribute('data-job-id')) ?? '';
    const watched = await watchExport(page, retryId);

    expect(retryId).not.toBe(failedId);
    expect(watched.status).toBe('completed');
  });

  it('downloads the retried export', async () => {
    const zip = await downloadZip(page, retryId);

    expect(await zipDigests(zip)).toEqual(sourceDigests([source()]));
  });

  it('names the retry on the failed export', async () => {
    const text = await exportItem(page, failedId).locator('.retried').textContent();

    expect(text).toBe(`Retried as export ${retryId.slice(0, 8)}.`);
  });
});

describe('export response lost', () => {
  let page: Page;
  let firstResponse: { jobId: string };
  let pageError: string | null;
  let jobId: string;
  /** The Idempotency-Key of each POST /v1/export, in order. */
  const keys: Array<string | null> = [];
  /** The Idempotent-Replayed header of each response that reached the page. */
  const replayed: Array<string | null> = [];

  const isCreate = (request: Request) =>
    request.method() === 'POST' && new URL(request.url()).pathname === '/v1/export';

  beforeAll(async () => {
    // Stored here, so that the file counts of the tests above stay as they are.
    const [single] = await putSources(stack, [82_201], 16 * 1024);
    page = await openPage(browser.context, stack.pageUrl);
    page.on('request', async (request) => {
      if (isCreate(request)) keys.push(await request.headerValue('idempotency-key'));
    });
    page.on('response', async (response) => {
      if (!isCreate(response.request())) return;
      replayed.push(await response.headerValue('idempotent-replayed'));
    });
    // The first request reaches the API, which starts the export, but the page gets a network
    // error in place of the response.
    let lost = false;
    await page.route('**/v1/export', async (route: Route) => {
      if (lost) return route.continue();

      lost = true;
      const response = await route.fetch();
      firstResponse = (await response.json()) as { jobId: string };
      return route.abort('connectionreset');
    });

    await selectSources(page, [single!]);
    await page.getByRole('button', { name: 'Export selected files' }).click();
    const error = page.locator('#page-error', { hasText: 'could not be started' });
    await error.waitFor();
    pageError = await error.textContent();
    jobId = await startExport(page);
    await watchExport(page, jobId);

    await page.getByRole('button', { name: 'Export selected files' }).click();
    await waitFor(async () => (keys.length >= 3 ? true : undefined), {
      description: 'a third POST /v1/export',
    });
  });

  afterAll(async () => {
    await page?.close();
  });

  it('shows the lost response as an error', () => {
    expect(pageError).toMatch(/^The export could not be started: /);
  });

  it('sends the same key again', () => {
    expect(keys[0]).toMatch(uuid);
    expect(keys[1]).toBe(keys[0]);
  });

  it('shows the export that the first request started', () => {
    expect(jobId).toBe(firstResponse.jobId);
  });

  it('starts no second export', () => {
    expect(replayed[0]).toBe('true');
  });

  it('uses a new key for the next export', () => {
    expect(keys[2]).toMatch(uuid);
    expect(keys[2]).not.toBe(keys[0]);
  });
});

describe('download after the zip expired', () => {
  let page: Page;
  let jobId: string;
  let redis: Redis;
  let queue: Queue;
  const downloads: string[] = [];

  /** Runs the export's expire-export job now instead of after the artifact retention. */
  async function expireZip(exportId: string): Promise<void> {
    const job = await queue.getJob(`expire-${exportId}`);
    if (!job) throw new Error(`Export ${exportId} has no expire-export job`);
    await job.promote();
    await waitFor(
      async () => {
        const snapshot = await getSnapshot(stack.nginx.url, `/v1/export/${exportId}`);
        return snapshot.status === 'expired' ? true : undefined;
      },
      { timeoutMs: 15_000, description: `export ${exportId} to expire` },
    );
  }

  beforeAll(async () => {
    redis = new Redis(stack.service.testServices.redisUrl, { maxRetriesPerRequest: null });
    const prefix = `${stack.service.config.redisPrefix}:bull`;
    queue = new Queue('exports', { connection: redis, prefix });
    const [source] = await putSources(stack, [82_301], 16 * 1024);
    const { body } = await createExport(stack.nginx.url, [source!.fileId]);
    jobId = body.jobId;
    await waitForEnd(stack.nginx.url, jobId);

    // The page shows the export as ready, then the zip is deleted behind its back.
    page = await openPage(browser.context, stack.pageUrl);
    page.on('download', (download) => downloads.push(download.url()));
    await expireZip(jobId);
    await exportItem(page, jobId).getByRole('link', { name: /^Download/ }).click();
    await page.locator(`li.export[data-job-id="${jobId}"][data-status="expired"]`).waitFor();
  });

  afterAll(async () => {
    await page?.close();
    await queue?.close();
    redis?.disconnect();
  });

  it('marks the export expired', async () => {
    const item = exportItem(page, jobId);

    expect(await item.locator('.status').textContent()).toBe('Expired');
    expect(await item.locator('.ended').textContent()).toBe(
      'The zip was deleted after its retention period.',
    );
  });

  it('removes the download button', async () => {
    expect(await exportItem(page, jobId).getByRole('link').count()).toBe(0);
  });

  it('stays on the page', async () => {
    await page.waitForTimeout(500);

    expect(page.url()).toBe(stack.pageUrl);
    expect(downloads).toEqual([]);
  });
});
