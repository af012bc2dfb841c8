/**
 * The export page with AUTH_ENABLED=true, through nginx. The page requests an API key, rejects
 * a wrong one, keeps a valid one in sessionStorage and sends it as Authorization. It follows
 * exports on a stream with a read token from POST /v1/tokens, downloads through the redirect
 * with that token, renews the token before it expires and asks again for a revoked key.
 */
import type { Page, Request, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { keyProblems } from '../../web/lib/auth-session.js';
import { waitFor } from '../support/api.js';
import { type LaunchedBrowser, launchChromium } from './support/browser.js';
import {
  downloadZip,
  enterApiKey,
  exportItem,
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
const storageKey = 'export-service.api-key';
const wrongKey = 'exk_this-key-was-never-created';

let stack: BrowserStack;
let browser: LaunchedBrowser;
let sources: Source[];
let key: string;

beforeAll(async () => {
  // Two 256 KiB sources read at 256 KiB/s: an export of them runs for about 2 s.
  stack = await startBrowserStack({ auth: true, readBytesPerSecond: 256 * KiB });
  sources = await putSources(stack, [87_001, 87_002], 256 * KiB);
  key = await stack.createKey('dana');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The requests and responses of a page, and the read tokens it got from POST /v1/tokens. */
interface Traffic {
  requests: Request[];
  responses: Response[];
  tokens: string[];
}

function recordTraffic(page: Page): Traffic {
  const traffic: Traffic = { requests: [], responses: [], tokens: [] };
  page.on('request', (request) => traffic.requests.push(request));
  page.on('response', (response) => {
    traffic.responses.push(response);
    if (new URL(response.url()).pathname !== '/v1/tokens' || response.status() !== 201) return;
    void response.json().then((body: { token: string }) => traffic.tokens.push(body.token));
  });

  return traffic;
}

function pathOf(request: Request | Response): string {
  return new URL(request.url()).pathname;
}

/** Returns the API key that the page keeps in sessionStorage, or null. */
function storedKey(page: Page): Promise<string | null> {
  return page.evaluate((name) => {
    // The project compiles without the DOM library, so the page's storage is typed here.
    const { sessionStorage } = globalThis as unknown as {
      sessionStorage: { getItem(name: string): string | null };
    };
    return sessionStorage.getItem(name);
  }, storageKey);
}

function keyProblem(page: Page): Promise<string | null> {
  return page.locator('#api-key-problem').textContent();
}

describe('page without a key', () => {
  let page: Page;
  let traffic: Traffic;

  beforeAll(async () => {
    page = await browser.context.newPage();
    traffic = recordTraffic(page);
    await page.goto(stack.pageUrl);
    await page.getByLabel('API key', { exact: true }).waitFor();
  });

  afterAll(async () => {
    await page?.close();
  });

  it('requests an API key', async () => {
    const input = page.getByLabel('API key', { exact: true });

    expect(await input.getAttribute('type')).toBe('password');
    expect(await page.getByRole('heading', { name: 'API key required' }).isVisible()).toBe(true);
  });

  it('hides the files meanwhile', async () => {
    expect(await page.locator('main').isHidden()).toBe(true);
  });

  it('gets a 401 first', () => {
    const apiResponses = traffic.responses.filter((response) =>
      pathOf(response).startsWith('/v1/'),
    );
    const statuses = apiResponses.map((response) => response.status());

    expect(statuses).toContain(401);
  });

  it('rejects a wrong key', async () => {
    await enterApiKey(page, wrongKey);
    await page.locator('#api-key-problem', { hasText: /\S/ }).waitFor();

    expect(await keyProblem(page)).toBe(keyProblems.rejected);
    expect(await page.locator('main').isHidden()).toBe(true);
  });

  it('stores no rejected key', async () => {
    expect(await storedKey(page)).toBeNull();
  });

  it('rejects an empty key', async () => {
    await page.getByLabel('API key', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Use this key' }).click();

    expect(await keyProblem(page)).toBe('Enter your API key.');
  });
});

describe('export with a valid key', () => {
  let page: Page;
  let traffic: Traffic;
  /** The number of requests sent before the valid key was entered. */
  let before: number;
  let jobId: string;
  let watched: WatchedExport;
  let zip: Buffer;

  beforeAll(async () => {
    page = await browser.context.newPage();
    traffic = recordTraffic(page);
    await page.goto(stack.pageUrl);
    await enterApiKey(page, wrongKey);
    await page.locator('#api-key-problem', { hasText: /\S/ }).waitFor();
    before = traffic.requests.length;
    await enterApiKey(page, key);
    await waitUntilReady(page);

    await selectSources(page, sources);
    jobId = await startExport(page);
    watched = await watchExport(page, jobId);
    zip = await downloadZip(page, jobId);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('shows the files', async () => {
    expect(await page.locator('#api-key').isHidden()).toBe(true);
    expect(await page.getByLabel(sources[0]!.name, { exact: true }).isVisible()).toBe(true);
  });

  it('keeps the key in sessionStorage', async () => {
    expect(await storedKey(page)).toBe(key);
  });

  it('keeps the key out of localStorage', async () => {
    const stored = await page.evaluate(() => {
      const { localStorage } = globalThis as unknown as { localStorage: object };
      return JSON.stringify({ ...localStorage });
    });

    expect(stored).not.toContain(key);
  });

  it('keeps the key out of URLs', () => {
    const urls = traffic.requests.map((request) => request.url());

    expect(urls.filter((url) => url.includes(key))).toEqual([]);
    expect(page.url()).not.toContain(key);
  });

  it('sends the key as Authorization', async () => {
    const calls = traffic.requests
      .slice(before)
      .filter((request) => request.resourceType() === 'fetch')
      .filter((request) => pathOf(request).startsWith('/v1/'));
    const headers = await Promise.all(calls.map((request) => request.headerValue('authorization')));

    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(new Set(headers)).toEqual(new Set([`Bearer ${key}`]));
  });

  it('completes the export', () => {
    expect(watched.status).toBe('completed');
  });

  it('streams with a read token', () => {
    const streams = traffic.requests
      .filter((request) => pathOf(request) === '/v1/exports/progress')
      .map((request) => new URL(request.url()));
    const withExport = streams.filter((url) => url.searchParams.get('ids')?.includes(jobId));

    expect(withExport.length).toBeGreaterThanOrEqual(1);
    for (const url of withExport) expect(traffic.tokens).toContain(url.searchParams.get('token'));
  });

  it('links the download with the token', async () => {
    const href = await exportItem(page, jobId).getByRole('link').getAttribute('href');
    const url = new URL(href ?? '', stack.pageUrl);

    expect(url.pathname).toBe(`/v1/export/${jobId}/download`);
    expect(traffic.tokens).toContain(url.searchParams.get('token'));
  });

  it('downloads through the redirect', () => {
    const redirects = traffic.responses
      .filter((response) => pathOf(response) === `/v1/export/${jobId}/download`)
      .filter((response) => response.status() === 302);
    const location = redirects[0]?.headers().location ?? '';

    expect(redirects.length).toBeGreaterThanOrEqual(1);
    expect(new URL(location).origin).toBe(stack.nginx.s3Endpoint);
  });

  it('downloads the sources as a zip', async () => {
    expect(await zipDigests(zip)).toEqual(sourceDigests(sources));
  });

  it('keeps the key after a reload', async () => {
    await page.reload();
    await waitUntilReady(page);

    expect(await page.locator('#api-key').isHidden()).toBe(true);
    expect(await exportItem(page, jobId).getAttribute('data-status')).toBe('completed');
  });
});

describe('read token renewal', () => {
  let page: Page;
  let traffic: Traffic;

  beforeAll(async () => {
    page = await browser.context.newPage();
    // The page's clock is fake, so that the renewal, due after 55 of the token's 60 minutes,
    // can be reached at once.
    await page.clock.install();
    traffic = recordTraffic(page);
    await page.goto(stack.pageUrl);
    await enterApiKey(page, key);
    await waitUntilReady(page);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('renews the token in time', async () => {
    await page.clock.fastForward('54:00');
    const early = traffic.requests.filter((request) => pathOf(request) === '/v1/tokens').length;
    await page.clock.fastForward('01:30');
    const renewed = await waitFor(
      async () => (traffic.tokens.length >= 2 ? traffic.tokens.length : undefined),
      { timeoutMs: 10_000, description: 'a second read token' },
    );

    expect(early).toBe(1);
    expect(renewed).toBe(2);
  });

  it('puts the new token in links', async () => {
    const newest = traffic.tokens.at(-1);
    const link = page.locator('li.export[data-status="completed"] a.download').first();
    const href = new URL((await link.getAttribute('href')) ?? '', stack.pageUrl);

    expect(href.searchParams.get('token')).toBe(newest);
  });
});

describe('revoked key', () => {
  let page: Page;
  let newKey: string;

  beforeAll(async () => {
    page = await browser.context.newPage();
    await page.goto(stack.pageUrl);
    await enterApiKey(page, key);
    await waitUntilReady(page);

    await stack.revokeKey(key);
    await page.reload();
    await page.locator('#api-key-problem', { hasText: /\S/ }).waitFor();
  });

  afterAll(async () => {
    await page?.close();
  });

  it('requests the key again', async () => {
    expect(await keyProblem(page)).toBe(keyProblems.revoked);
    expect(await page.locator('main').isHidden()).toBe(true);
  });

  it('forgets the revoked key', async () => {
    expect(await storedKey(page)).toBeNull();
  });

  it('accepts a new key', async () => {
    newKey = await stack.createKey('dana');
    await enterApiKey(page, newKey);
    await waitUntilReady(page);

    expect(await page.locator('li.export').count()).toBeGreaterThanOrEqual(1);
    expect(await storedKey(page)).toBe(newKey);
  });
});
