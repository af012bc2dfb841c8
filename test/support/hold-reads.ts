/**
 * Stops the worker's source reads at a gate, so a test can act while an export is under way.
 * It stubs `read` on the real object store and forwards to it once the gate opens.
 */
import { vi } from 'vitest';

import type { ObjectStore } from '../../functions/lib/ports.js';

/** A gate in front of `ObjectStore.read`. */
export interface ReadGate {
  /** Resolves when the first waiting read arrives, so the export is processing. */
  reached: Promise<void>;
  /** Lets every waiting and later read through. */
  release(): void;
  /** Puts the original method back. */
  restore(): void;
}

/** Lets the first `passThrough` reads go at once and makes the later ones wait for `release`. */
export function holdSourceReads(store: ObjectStore, passThrough = 0): ReadGate {
  const read = store.read.bind(store);
  let release!: () => void;
  let arrive!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  let reads = 0;

  const spy = vi.spyOn(store, 'read').mockImplementation(async (bucket, key, signal) => {
    reads += 1;
    if (reads > passThrough) {
      arrive();
      await gate;
    }

    return read(bucket, key, signal);
  });

  return { reached, release, restore: () => spy.mockRestore() };
}
