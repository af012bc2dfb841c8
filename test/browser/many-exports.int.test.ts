/**
 * Ten exports at once on the export page. Browsers open at most 6 connections per host over
 * HTTP/1.1, so the page must follow them all on one stream.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LaunchedBrowser, launchChromium } from './support/browser.js';
import {
  downloadZip,
  exportItem,
  openPage,
  putSources,
  selectSources,
  type Source,
  sourceDigests,
  startExport,
  watchExport,
  zipDigests,
} from './support/page.js';
import { type BrowserStack, startBrowserStack } from './support/stack.js';

const KiB = 1024;
const exportCount = 10;

let stack: BrowserStack;
let browser: LaunchedBrowser;
let sources: Source[];
let page: Page;
const jobIds: string[] = [];
const requests: string[] = [];
/** The number of ids of each stream that the page opened. */
const streamSizes: number[] = [];

beforeAll(async () => {
  // 512 KiB per export at 256 KiB/s: each runs for about 2 s, all ten at the same time.
  stack = await startBrowserStack({
    readBytesPerSecond: 256 * KiB,
    env: { WORKER_CONCURRENCY: String(exportCount) },
  });
  const ids = Array.from({ length: exportCount }, (_, i) => 85_001 + i);
  sources = await putSources(stack, ids, 512 * KiB);
  browser = await launchChromium();
  page = await openPage(browser.context, stack.pageUrl);
  page.on('request', (request: Request) => {
    const url = new URL(request.url());
    requests.push(url.pathname);
    if (url.pathname === '/v1/exports/progress') {
      streamSizes.push(url.searchParams.get('ids')!.split(',').length);
    }
  });

  // Reads crawl until all ten have started, so that they overlap however slowly the machine
  // clicks through the page.
  stack.setReadRate(8 * KiB);
  // One file each: the API joins a request for the same files as a running export.
  for (const source of sources) {
    await selectSources(page, [source]);
    jobIds.push(await startExport(page));
    await page.getByLabel(source.name, { exact: true }).uncheck();
  }
  stack.setReadRate(256 * KiB);
  for (const jobId of jobIds) await watchExport(page, jobId, 60_000);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('ten exports at once', () => {
  it('starts ten exports', () => {
    expect(new Set(jobIds).size).toBe(exportCount);
  });

  it('completes every export', async () => {
    const statuses = await Promise.all(
      jobIds.map((jobId) => exportItem(page, jobId).getAttribute('data-status')),
    );

    expect(statuses).toEqual(jobIds.map(() => 'completed'));
  });

  it('shows every download link', async () => {
    const links = await Promise.all(
      jobIds.map((jobId) => exportItem(page, jobId).getByRole('link', { name: /^Download/ })),
    );
    const counts = await Promise.all(links.map((link) => link.count()));

    expect(counts).toEqual(jobIds.map(() => 1));
  });

  it('follows many on one stream', () => {
    // The exports overlap, so the last stream opened carries most of them.
    expect(Math.max(...streamSizes)).toBeGreaterThanOrEqual(exportCount / 2);
  });

  it('uses no per-export stream', () => {
    expect(requests.filter((path) => /^\/v1\/export\/[^/]+\/progress$/.test(path))).toEqual([]);
  });

  it('does not poll', () => {
    expect(requests.filter((path) => /^\/v1\/export\/[^/]+$/.test(path))).toEqual([]);
  });

  it('downloads the last export', async () => {
    const zip = await downloadZip(page, jobIds.at(-1)!);

    expect(await zipDigests(zip)).toEqual(sourceDigests(sources.slice(-1)));
  });
});
