/**
 * Holds calls to one async method of a real object at a gate, so a test can act while a
 * request or job is part-way through. The method is stubbed on that object only, and each
 * held call goes on to the original method once the gate opens.
 */
import { vi } from 'vitest';

/** A gate in front of one method. */
export interface CallGate {
  /** Resolves when the first held call arrives. */
  reached: Promise<void>;
  /** The number of calls so far, held or not. */
  calls(): number;
  /** Lets every held and later call through. */
  release(): void;
  /** Puts the original method back. */
  restore(): void;
}

type AsyncMethod = (...args: never[]) => Promise<unknown>;

/** Passes the first `passThrough` calls of `target[name]` and makes later ones wait. */
export function holdCalls<T extends object, K extends keyof T & string>(
  target: T,
  name: K,
  passThrough = 0,
): CallGate {
  const original = (target[name] as AsyncMethod).bind(target);
  let release!: () => void;
  let arrive!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  let calls = 0;

  const waitThenCall = async (...args: never[]) => {
    calls += 1;
    if (calls > passThrough) {
      arrive();
      await gate;
    }

    return original(...args);
  };
  // vi.spyOn cannot infer a method type from a generic key, so the stub is typed loosely.
  const spy = vi.spyOn(target as unknown as Record<string, AsyncMethod>, name as string);
  spy.mockImplementation(waitThenCall);

  return { reached, calls: () => calls, release, restore: () => spy.mockRestore() };
}
