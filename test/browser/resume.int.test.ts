/**
 * Reloading the export page while exports run: the page follows them again, from the first
 * page of the exports list and from the ids it saved in localStorage.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createExport, waitFor, waitForEnd } from '../support/api.js';
import { type LaunchedBrowser, launchChromium } from './support/browser.js';
import {
  distinct,
  downloadZip,
  exportIds,
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

const KiB = 1024;
const MiB = 1024 * 1024;
/** The page size of the page's exports list. */
const exportsPageSize = 20;

let stack: BrowserStack;
let browser: LaunchedBrowser;
let slow: Source[];
let tiny: Source;

beforeAll(async () => {
  // Three 1 MiB sources read at 0.5 MiB/s: about 6 s per export.
  stack = await startBrowserStack({ readBytesPerSecond: 0.5 * MiB });
  slow = await putSources(stack, [84_001, 84_002, 84_003], 1 * MiB);
  tiny = (await putSources(stack, [84_101], 1024))[0]!;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Waits until the export's progress bar shows a value between 1 and 60. */
async function waitUntilUnderWay(page: Page, jobId: string): Promise<number> {
  const progress = exportItem(page, jobId).locator('progress');

  return waitFor(
    async () => {
      // The callback runs in the page, where `bar` is the <progress> element.
      const value: number = await progress.evaluate((bar) => (bar as { value: number }).value);
      return value > 0 && value <= 60 ? value : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50, description: `export ${jobId} under way` },
  );
}

/** Returns the ids of the streams that `page` opens from now on. */
function recordStreams(page: Page): string[][] {
  const streams: string[][] = [];
  page.on('request', (request: Request) => {
    const url = new URL(request.url());
    if (url.pathname === '/v1/exports/progress') {
      streams.push((url.searchParams.get('ids') ?? '').split(','));
    }
  });

  return streams;
}

describe('reload mid-export', () => {
  let page: Page;
  let jobId: string;
  let before: number;
  let streams: string[][];
  let watched: WatchedExport;

  beforeAll(async () => {
    page = await openPage(browser.context, stack.pageUrl);
    await selectSources(page, slow);
    jobId = await startExport(page);
    before = await waitUntilUnderWay(page, jobId);

    streams = recordStreams(page);
    await page.reload();
    await waitUntilReady(page);
    watched = await watchExport(page, jobId);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('shows the export again', () => {
    expect(watched.values[0]).toBeGreaterThanOrEqual(before);
  });

  it('follows it on a stream', () => {
    expect(streams.some((ids) => ids.includes(jobId))).toBe(true);
  });

  it('shows the progress rising', () => {
    const during = distinct(watched.values).filter((value) => value > 0 && value < 100);

    expect(during.length).toBeGreaterThanOrEqual(2);
  });

  it('completes with a download', async () => {
    const zip = await downloadZip(page, jobId);

    expect(watched.status).toBe('completed');
    expect(await zipDigests(zip)).toEqual(sourceDigests(slow));
  });
});

describe('reload with the export off the first page', () => {
  let page: Page;
  let jobId: string;
  let watched: WatchedExport;

  beforeAll(async () => {
    page = await openPage(browser.context, stack.pageUrl);
    await selectSources(page, slow.slice(0, 2));
    jobId = await startExport(page);
    await waitUntilUnderWay(page, jobId);

    // A full page of newer exports, created elsewhere, pushes it off the first page. Reads
    // crawl meanwhile, so that the export is still running at the reload however long the
    // newer ones take. An export that ended before the reload would have left the saved list.
    stack.setReadRate(8 * KiB);
    for (let i = 0; i < exportsPageSize; i += 1) {
      const { body } = await createExport(stack.nginx.url, [tiny.fileId]);
      await waitForEnd(stack.nginx.url, body.jobId);
    }
    await page.reload();
    await waitUntilReady(page);
    stack.setReadRate(0.5 * MiB);
    watched = await watchExport(page, jobId);
  }, 60_000);

  afterAll(async () => {
    await page?.close();
  });

  it('restores it from localStorage', async () => {
    expect(await exportIds(page)).toContain(jobId);
  });

  it('lists it after the newer ones', async () => {
    expect((await exportIds(page)).indexOf(jobId)).toBe(exportsPageSize);
  });

  it('follows it to the end', () => {
    expect(watched.status).toBe('completed');
  });
});
