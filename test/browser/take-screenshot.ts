/**
 * Takes docs/web-page.png: the export page with one export in progress, one completed and one
 * failed, on the real stack behind nginx. Run it with `npx tsx test/browser/take-screenshot.ts`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

import type { Page } from 'playwright-core';

import { importCorpus } from '../../infra/local/corpus.js';
import { createExport, waitFor, waitForEnd } from '../support/api.js';
import { repoRoot } from '../support/processes.js';
import { launchChromium } from './support/browser.js';
import { startBrowserStack } from './support/stack.js';

const KiB = 1024;
const output = path.join(repoRoot, 'docs', 'web-page.png');
/** An id that no source has, so that an export of it alone fails. */
const missingFileId = 99_999;
// NOTE: only the six fonts of the default corpus, because the S3 emulator fails to list a
// bucket with more files than one page of GET /v1/files (20).
const fontsFolder = path.join(
  path.dirname(createRequire(import.meta.url).resolve('font-awesome/package.json')),
  'fonts',
);

const stack = await startBrowserStack({ readBytesPerSecond: 10_000 * KiB });
const browser = await launchChromium({ width: 1000, height: 700 });

try {
  const { config, s3Client } = stack.service;
  const corpus = await importCorpus({
    client: s3Client,
    bucket: config.sourceBucket,
    keyTemplate: config.sourceKeyTemplate,
    folder: fontsFolder,
  });
  const ids = corpus.map((file) => file.fileId);

  const completed = await createExport(stack.nginx.url, ids.slice(4, 6));
  await waitForEnd(stack.nginx.url, completed.body.jobId);
  const failed = await createExport(stack.nginx.url, [missingFileId]);
  await waitForEnd(stack.nginx.url, failed.body.jobId);
  stack.setReadRate(100 * KiB);

  const page = await browser.context.newPage();
  await page.goto(stack.pageUrl);
  await page.locator('body[data-ready="true"]').waitFor();
  for (const file of corpus.slice(0, 4)) await page.getByLabel(file.name, { exact: true }).check();
  await page.getByRole('button', { name: 'Export selected files' }).click();

  await waitUntilHalfway(page);
  await page.screenshot({ path: output, fullPage: true });
  console.log(`Saved ${output}`);
} finally {
  await browser.close();
  await stack.stop();
}

/** Waits until the running export is between 30% and 69% and shows a time left. */
async function waitUntilHalfway(page: Page): Promise<void> {
  const details = page.locator('li.export[data-status="processing"] .details');

  await waitFor(
    async () => {
      const text = await details.textContent({ timeout: 1_000 }).catch(() => null);
      return text?.includes('left') && /^[3-6]\d%/.test(text) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: 'the export halfway, with a time left' },
  );
}
