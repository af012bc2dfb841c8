/**
 * Garbage collection on demand, for tests of code whose behaviour changes when objects are
 * collected. On Node 20.20.2, `AbortSignal.any([other, AbortSignal.timeout(ms)])` never aborts
 * once a full collection has run before the timeout, because the timer keeps only a weak
 * reference to its signal (see nodejs/node pull request 57867). These helpers trigger that on purpose, or keep it out of
 * tests that check something else.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

import { vi } from 'vitest';

let gc: (() => void) | undefined;

/** Runs a full garbage collection in this process, enabling `--expose-gc` on first use. */
export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }

  gc();
}

/**
 * Keeps every signal that `AbortSignal.timeout` returns from now on reachable until `restore`,
 * so that a garbage collection cannot cancel its timer. Returns the restore function.
 */
export function keepTimeoutSignals(): () => void {
  const create = AbortSignal.timeout.bind(AbortSignal);
  const reachable = new Set<AbortSignal>();
  const spy = vi.spyOn(AbortSignal, 'timeout').mockImplementation((ms: number) => {
    const signal = create(ms);
    reachable.add(signal);
    signal.addEventListener('abort', () => reachable.delete(signal), { once: true });

    return signal;
  });

  return () => {
    spy.mockRestore();
    reachable.clear();
  };
}
