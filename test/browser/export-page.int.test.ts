/**
 * The export page in headless Chromium, served by nginx in front of the real stack. A user
 * selects files, exports them, watches the progress, downloads the zip and compares it with
 * the sources. A failed export shows its reason and gets retried.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getSnapshot } from '../support/api.js';
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

  beforeAll(async () => {
    page = await openPage(browser.context, stack.pageUrl);
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

  it('links the zip on nginx', async () => {
    const href = await exportItem(page, jobId).getByRole('link').getAttribute('href');

    expect(new URL(href ?? '').origin).toBe(stack.nginx.s3Endpoint);
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
