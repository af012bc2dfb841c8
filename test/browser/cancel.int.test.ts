/**
 * Cancelling exports from the export page. With one worker slot, an export whose source reads
 * are held stays processing, and a second export waits queued behind it. The page cancels
 * both with DELETE /v1/export/:id and shows them as cancelled.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getSnapshot } from '../support/api.js';
import { holdSourceReads, type ReadGate } from '../support/hold-reads.js';
import { type LaunchedBrowser, launchChromium } from './support/browser.js';
import {
  exportItem,
  openPage,
  putSources,
  selectSources,
  type Source,
  startExport,
} from './support/page.js';
import { type BrowserStack, startBrowserStack } from './support/stack.js';

const KiB = 1024;

let stack: BrowserStack;
let browser: LaunchedBrowser;
let sources: Source[];
let gate: ReadGate;
let page: Page;
let runningId: string;
let queuedId: string;
const deletes: string[] = [];

beforeAll(async () => {
  stack = await startBrowserStack({
    readBytesPerSecond: 1024 * KiB,
    env: { WORKER_CONCURRENCY: '1' },
  });
  sources = await putSources(stack, [86_001, 86_002], 64 * KiB);
  gate = holdSourceReads(stack.service.services.deps.store);
  browser = await launchChromium();

  page = await openPage(browser.context, stack.pageUrl);
  page.on('request', (request: Request) => {
    if (request.method() === 'DELETE') deletes.push(new URL(request.url()).pathname);
  });
  await selectSources(page, [sources[0]!]);
  runningId = await startExport(page);
  await gate.reached;
  await exportItem(page, runningId).locator('.status', { hasText: 'In progress' }).waitFor();

  await page.getByRole('button', { name: 'Clear selection' }).click();
  await selectSources(page, [sources[1]!]);
  queuedId = await startExport(page);
});

afterAll(async () => {
  gate?.release();
  gate?.restore();
  await browser?.close();
  await stack?.stop();
});

/** Returns the item's status label once its data-status is `cancelled`. */
async function waitUntilCancelled(jobId: string): Promise<string | null> {
  const item = exportItem(page, jobId);
  await page.locator(`li.export[data-job-id="${jobId}"][data-status="cancelled"]`).waitFor();

  return item.locator('.status').textContent();
}

describe('export waiting in the queue', () => {
  let label: string | null;

  beforeAll(async () => {
    await exportItem(page, queuedId).getByRole('button', { name: /^Cancel/ }).click();
    label = await waitUntilCancelled(queuedId);
  });

  it('was queued', async () => {
    const snapshot = await getSnapshot(stack.nginx.url, `/v1/export/${queuedId}`);

    expect(snapshot.attempt).toBe(0);
  });

  it('sends DELETE', () => {
    expect(deletes).toEqual([`/v1/export/${queuedId}`]);
  });

  it('shows it cancelled', async () => {
    const note = await exportItem(page, queuedId).locator('.ended').textContent();

    expect(label).toBe('Cancelled');
    expect(note).toBe('The export was cancelled.');
  });

  it('removes the cancel button', async () => {
    const button = exportItem(page, queuedId).getByRole('button', { name: /^Cancel/ });

    expect(await button.isHidden()).toBe(true);
  });
});

describe('export in progress', () => {
  let label: string | null;

  beforeAll(async () => {
    // From the keyboard, so that the test can see where the focus goes once the button hides.
    await exportItem(page, runningId).getByRole('button', { name: /^Cancel/ }).focus();
    await page.keyboard.press('Enter');
    label = await waitUntilCancelled(runningId);
  });

  it('shows it cancelled', () => {
    expect(label).toBe('Cancelled');
  });

  it('cancels it on the service', async () => {
    const snapshot = await getSnapshot(stack.nginx.url, `/v1/export/${runningId}`);

    expect(snapshot.status).toBe('cancelled');
  });

  it('moves the focus to its heading', async () => {
    const focused = page.locator(`li.export[data-job-id="${runningId}"] h3:focus`);

    expect(await focused.count()).toBe(1);
  });

  it('announces it', async () => {
    const announcer = page.locator('#announcer', { hasText: `Export ${runningId.slice(0, 8)}` });
    await announcer.waitFor({ state: 'attached' });

    expect(await announcer.textContent()).toBe(`Export ${runningId.slice(0, 8)} was cancelled.`);
  });

  it('stays cancelled once reads resume', async () => {
    gate.release();
    await page.waitForTimeout(1_000);
    const snapshot = await getSnapshot(stack.nginx.url, `/v1/export/${runningId}`);

    expect(snapshot.status).toBe('cancelled');
    expect(await exportItem(page, runningId).getAttribute('data-status')).toBe('cancelled');
    expect(await exportItem(page, runningId).getByRole('link').count()).toBe(0);
  });
});
