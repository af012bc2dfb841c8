/**
 * Headless Chromium from Debian's package, driven by playwright-core. Each launch gets a new
 * empty profile folder, removed again by `close`.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type BrowserContext, chromium } from 'playwright-core';

/** Where Debian's `chromium` package installs the browser. */
export const chromiumPath = '/usr/bin/chromium';

/**
 * Flags for a machine without outside network: without the background-networking ones,
 * Chromium's own connections to Google's hosts fail, many at a time.
 */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser with one persistent context, which contains the pages and downloads. */
export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Options of `launchChromium`. */
export interface LaunchOptions {
  /** Viewport width in CSS pixels, 1000 when unset. */
  width?: number;
  height?: number;
}

/** Launches Chromium with a new profile. Throws a message on how to install it when missing. */
export async function launchChromium(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  await access(chromiumPath).catch(() => {
    throw new Error(
      `Chromium was not found at ${chromiumPath}. Install it with \`apt-get install chromium\`.`,
    );
  });
  const profile = await mkdtemp(path.join(os.tmpdir(), 'chromium-profile-'));

  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      acceptDownloads: true,
      viewport: { width: options.width ?? 1000, height: options.height ?? 800 },
    });
    // Shorter than vitest's 60 s test timeout, so a missing element fails with its own message.
    context.setDefaultTimeout(10_000);
    const close = async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    };
    return { context, close };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
