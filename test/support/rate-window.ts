/** Timing help for tests of the fixed-window rate limits. */
import { delay } from './api.js';

/**
 * Waits for the next window when the current one ends within `neededMs`, so that a test's
 * requests all count in one window. Windows are fixed slices of the Unix epoch, so this works
 * only when the API reads the same clock, in the test process or on the same machine.
 */
export async function waitForRoomInWindow(windowSeconds: number, neededMs: number): Promise<void> {
  const windowMs = windowSeconds * 1_000;
  const leftMs = windowMs - (Date.now() % windowMs);
  if (leftMs < neededMs) await delay(leftMs + 50);
}
