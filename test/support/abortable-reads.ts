/**
 * Holds the worker's source reads at a gate that the read's abort signal can break, as it
 * breaks a real GET in flight. `hold-reads.ts` ignores the signal, so a job waiting there
 * cannot stop before the gate opens. This gate shows whether a stopping job aborts its read.
 */
import { vi } from 'vitest';

import type { ObjectStore } from '../../functions/lib/ports.js';

/** A gate in front of `ObjectStore.read` that aborted reads leave. */
export interface AbortableReadGate {
  /** Resolves when the first held read arrives, so the export is processing. */
  reached: Promise<void>;
  /** Resolves with `performance.now()` when the signal of a held read aborts. */
  aborted: Promise<number>;
  /** Lets every held and later read through. */
  release(): void;
  /** Puts the original method back. */
  restore(): void;
}

/** Lets the first `passThrough` reads through, and later ones wait at the gate. */
export function holdAbortableReads(store: ObjectStore, passThrough = 0): AbortableReadGate {
  const read = store.read.bind(store);
  let release!: () => void;
  let arrive!: () => void;
  let abortSeen!: (at: number) => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const aborted = new Promise<number>((resolve) => {
    abortSeen = resolve;
  });
  let reads = 0;

  const spy = vi.spyOn(store, 'read').mockImplementation(async (bucket, key, signal) => {
    reads += 1;
    if (reads > passThrough) {
      arrive();
      await waitForGateOrAbort(gate, signal, abortSeen);
    }

    return read(bucket, key, signal);
  });

  return { reached, aborted, release, restore: () => spy.mockRestore() };
}

/** Resolves when the gate opens, or rejects with the signal's reason when it aborts first. */
async function waitForGateOrAbort(
  gate: Promise<void>,
  signal: AbortSignal,
  onAbort: (at: number) => void,
): Promise<void> {
  if (signal.aborted) {
    onAbort(performance.now());
    throw signal.reason;
  }

  let stop!: () => void;
  const abortedRead = new Promise<never>((_resolve, reject) => {
    stop = () => {
      onAbort(performance.now());
      reject(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
  try {
    await Promise.race([gate, abortedRead]);
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
