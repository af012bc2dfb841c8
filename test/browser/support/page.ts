/** Steps and checks on the export page that several browser tests share. */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import type { BrowserContext, Locator, Page } from 'playwright-core';

import { waitFor } from '../../support/api.js';
import { readZipEntries, sha256 } from '../../support/zip.js';
import type { BrowserStack } from './stack.js';

/**
 * The members of DOM elements that the callbacks below use in the page. The project compiles
 * without the DOM library, so Playwright passes them in untyped.
 */
interface PageNode {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  querySelector(selector: string): (PageNode & { value?: number }) | null;
  ownerDocument: { getElementById(id: string): PageNode | null };
}

/** A source file that a test stored, with its bytes for comparing with the zip. */
export interface Source {
  fileId: number;
  name: string;
  bytes: Buffer;
}

/** The states of one export that a test read from the page while it ran. */
export interface WatchedExport {
  /** Every <progress> value read, in order, one read per 100 ms. */
  values: number[];
  /** Every text of the details line read, in order. */
  details: string[];
  /** Every text of the page's live region read, in order. */
  announcements: string[];
  /** The item's data-status at the end: completed, failed or another status on timeout. */
  status: string;
}

/** Stores one source per id with random bytes of `size`, named `source-<id>.bin`. */
export async function putSources(
  stack: BrowserStack,
  fileIds: number[],
  size: number,
): Promise<Source[]> {
  const sources = fileIds.map((fileId) => ({
    fileId,
    name: `source-${fileId}.bin`,
    bytes: randomBytes(size),
  }));
  for (const source of sources) await stack.putSource(source.fileId, source.bytes, source.name);

  return sources;
}

/** Opens the page in a new tab and waits until it has loaded the files and the exports. */
export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await waitUntilReady(page);

  return page;
}

export async function waitUntilReady(page: Page): Promise<void> {
  await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
}

/** Types `key` into the page's API key form and submits it. */
export async function enterApiKey(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
}

/** Ticks the checkbox of each source. The sources must be on the page shown. */
export async function selectSources(page: Page, sources: Source[]): Promise<void> {
  for (const source of sources) await page.getByLabel(source.name, { exact: true }).check();
}

/**
 * Clicks "Export selected files", or runs `start` instead, and returns the id of the export
 * that appears on the page for it.
 */
export async function startExport(
  page: Page,
  start = () => page.getByRole('button', { name: 'Export selected files' }).click(),
): Promise<string> {
  const before = await exportIds(page);
  await start();

  return waitFor(
    async () => (await exportIds(page)).find((jobId) => !before.includes(jobId)),
    { timeoutMs: 10_000, description: 'a new export on the page' },
  );
}

/** Returns the ids of the exports on the page, in the page's order. */
export async function exportIds(page: Page): Promise<string[]> {
  return page
    .locator('li.export')
    .evaluateAll((items) => items.map((item) => (item as PageNode).dataset.jobId ?? ''));
}

/** Returns the list item of export `jobId`. */
export function exportItem(page: Page, jobId: string): Locator {
  return page.locator(`li.export[data-job-id="${jobId}"]`);
}

/**
 * Reads the export's progress bar, details line and the live region every 100 ms until the
 * export has ended or `timeoutMs` has passed.
 */
export async function watchExport(
  page: Page,
  jobId: string,
  timeoutMs = 30_000,
): Promise<WatchedExport> {
  const item = exportItem(page, jobId);
  const watched: WatchedExport = { values: [], details: [], announcements: [], status: '' };
  const deadline = Date.now() + timeoutMs;

  while (Date.now() < deadline) {
    const state = await item.evaluate((element) => {
      const node = element as PageNode;
      return {
        status: node.dataset.status ?? '',
        value: node.querySelector('progress')?.value ?? Number.NaN,
        details: node.querySelector('.details')?.textContent ?? '',
        announcement: node.ownerDocument.getElementById('announcer')?.textContent ?? '',
      };
    });
    watched.values.push(state.value);
    watched.details.push(state.details);
    watched.announcements.push(state.announcement);
    watched.status = state.status;
    if (state.status !== 'queued' && state.status !== 'processing') break;
    await page.waitForTimeout(100);
  }

  return watched;
}

/** Returns the distinct values of `values` in their first order. */
export function distinct(values: number[]): number[] {
  return [...new Set(values)];
}

/** Clicks the export's download link and returns the downloaded bytes. */
export async function downloadZip(page: Page, jobId: string): Promise<Buffer> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    exportItem(page, jobId).getByRole('link', { name: /Download/ }).click(),
  ]);
  const file = await download.path();

  return readFile(file);
}

/** Returns each entry of `zip` as name and SHA-256, sorted by name. */
export async function zipDigests(zip: Buffer): Promise<Array<[string, string]>> {
  const entries = await readZipEntries(zip);
  const digests = entries.map((entry): [string, string] => [entry.name, sha256(entry.bytes)]);

  return digests.sort(([a], [b]) => a.localeCompare(b));
}

/** Returns each source as name and SHA-256, sorted by name, to compare with `zipDigests`. */
export function sourceDigests(sources: Source[]): Array<[string, string]> {
  const digests = sources.map((source): [string, string] => [source.name, sha256(source.bytes)]);

  return digests.sort(([a], [b]) => a.localeCompare(b));
}
