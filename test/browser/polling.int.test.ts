/**
 * The export page without Server-Sent Events: with window.EventSource removed, and with a
 * stream that the network always rejects. Polling GET /v1/export/:id must do the work.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LaunchedBrowser, launchChromium } from './support/browser.js';
import {
  distinct,
  downloadZip,
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
let sources: Source[];

beforeAll(async () => {
  // Three 1 MiB sources read at 0.5 MiB/s: about 6 s, long enough for several polls.
  stack = await startBrowserStack({ readBytesPerSecond: 0.5 * MiB });
  sources = await putSources(stack, [83_001, 83_002, 83_003], 1 * MiB);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('without EventSource', () => {
  let page: Page;
  let jobId: string;
  let watched: WatchedExport;
  const requests: string[] = [];

  beforeAll(async () => {
    page = await browser.context.newPage();
    await page.addInitScript(() => {
      delete (globalThis as { EventSource?: unknown }).EventSource;
    });
    page.on('request', (request: Request) => requests.push(new URL(request.url()).pathname));
    await page.goto(stack.pageUrl);
    await waitUntilReady(page);

    await selectSources(page, sources);
    jobId = await startExport(page);
    watched = await watchExport(page, jobId);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('says that it polls', async () => {
    expect(await page.locator('#follow-mode').getAttribute('data-mode')).toBe('poll');
  });

  it('shows the progress rising', () => {
    const during = distinct(watched.values).filter((value) => value > 0 && value < 100);

    expect(watched.status).toBe('completed');
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during).toEqual([...during].sort((a, b) => a - b));
  });

  it('polls the status', () => {
    const polls = requests.filter((path) => path === `/v1/export/${jobId}`);

    expect(polls.length).toBeGreaterThanOrEqual(3);
  });

  it('opens no stream', () => {
    expect(requests.filter((path) => path.endsWith('/progress'))).toEqual([]);
  });

  it('downloads the sources as a zip', async () => {
    const zip = await downloadZip(page, jobId);

    expect(await zipDigests(zip)).toEqual(sourceDigests(sources));
  });
});

describe('with a failing stream', () => {
  let page: Page;
  let jobId: string;
  let watched: WatchedExport;
  let streamAttempts = 0;

  beforeAll(async () => {
    page = await browser.context.newPage();
    // The response of a proxy that cannot reach the API, to every stream request.
    await page.route('**/v1/exports/progress?*', async (route) => {
      streamAttempts += 1;
      await route.fulfill({ status: 502, contentType: 'text/html', body: 'Bad Gateway' });
    });
    await page.goto(stack.pageUrl);
    await waitUntilReady(page);

    await selectSources(page, sources.slice(0, 2));
    jobId = await startExport(page);
    watched = await watchExport(page, jobId);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('falls back to polling', async () => {
    expect(await page.locator('#follow-mode').getAttribute('data-mode')).toBe('poll');
  });

  it('gives up the stream after three tries', () => {
    expect(streamAttempts).toBe(3);
  });

  it('completes the export', async () => {
    const link = page.locator(`li.export[data-job-id="${jobId}"] a.download`);

    expect(watched.status).toBe('completed');
    expect(await link.isVisible()).toBe(true);
  });
});
