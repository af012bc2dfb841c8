/**
 * Paging through more source files than fit on one page of the export page, with a selection
 * that spans pages.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getSnapshot } from '../support/api.js';
import { type LaunchedBrowser, launchChromium } from './support/browser.js';
import {
  openPage,
  putSources,
  selectSources,
  type Source,
  startExport,
  watchExport,
} from './support/page.js';
import { type BrowserStack, startBrowserStack } from './support/stack.js';

/** One more than the page shows at once. */
const sourceCount = 21;

let stack: BrowserStack;
let browser: LaunchedBrowser;
let sources: Source[];
let page: Page;

beforeAll(async () => {
  stack = await startBrowserStack({ readBytesPerSecond: 10 * 1024 * 1024 });
  const ids = Array.from({ length: sourceCount }, (_, i) => 86_001 + i);
  sources = await putSources(stack, ids, 1024);
  browser = await launchChromium();
  page = await openPage(browser.context, stack.pageUrl);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Returns the file names in the table, in order. */
async function namesShown(): Promise<string[]> {
  return page.locator('#files-body label').allTextContents();
}

describe('source file pages', () => {
  it('loads without an error', async () => {
    expect(await page.locator('#page-error').textContent()).toBe('');
  });

  it('shows the first page', async () => {
    expect(await namesShown()).toEqual(sources.slice(0, 20).map((source) => source.name));
  });

  it('shows the next page', async () => {
    await selectSources(page, sources.slice(0, 1));
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.locator('#files-page', { hasText: 'Page 2' }).waitFor();

    expect(await namesShown()).toEqual([sources[20]!.name]);
  });

  it('keeps the selection across pages', async () => {
    await selectSources(page, sources.slice(20));
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.locator('#files-page', { hasText: 'Page 1' }).waitFor();

    expect(await page.getByLabel(sources[0]!.name, { exact: true }).isChecked()).toBe(true);
  });

  it('exports files from both pages', async () => {
    const jobId = await startExport(page);
    await watchExport(page, jobId);
    const snapshot = await getSnapshot(stack.nginx.url, `/v1/export/${jobId}`);

    expect(snapshot.progress.filesTotal).toBe(2);
  });

  it('selects every file', async () => {
    await page.getByRole('button', { name: 'Select all files' }).click();
    const summary = page.locator('#selection-summary', { hasText: `${sourceCount} selected` });

    await expect(summary.waitFor()).resolves.toBeUndefined();
  });
});
