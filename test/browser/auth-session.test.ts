import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  AuthSession,
  type IssuedToken,
  keyProblems,
  type KeyStorage,
  renewRetryMs,
} from '../../web/lib/auth-session.js';

const storageKey = 'export-service.api-key';
const minute = 60_000;

/** An error as the page's API client throws it. */
function apiError(status: number, message = `HTTP ${status}`): Error & { status: number } {
  return Object.assign(new Error(message), { status });
}

/** A Storage in memory. */
class MemoryStorage implements KeyStorage {
  readonly values = new Map<string, string>();

  getItem(name: string): string | null {
    return this.values.get(name) ?? null;
  }

  setItem(name: string, value: string): void {
    this.values.set(name, value);
  }

  removeItem(name: string): void {
    this.values.delete(name);
  }
}

/** A key form that the test fills in: each `ask` waits for `enter`. */
class FakeKeyPrompt {
  readonly problems: Array<string | undefined> = [];
  closed = 0;
  #pending: Array<(key: string) => void> = [];

  ask(problem: string | undefined): Promise<string> {
    this.problems.push(problem);
    return new Promise((resolve) => this.#pending.push(resolve));
  }

  close(): void {
    this.closed += 1;
  }

  /** Submits `key` to the open `ask`, and lets the session's promises run. */
  async enter(key: string): Promise<void> {
    const resolve = this.#pending.shift();
    if (!resolve) throw new Error('The key form is not open');
    resolve(key);
    await vi.advanceTimersByTimeAsync(0);
  }
}

interface Harness {
  session: AuthSession;
  prompt: FakeKeyPrompt;
  storage: MemoryStorage;
  /** The key of each issueToken call, in order. */
  issuedFor: string[];
  /** Tokens received by onTokenChange listeners. */
  changes: string[];
}

/**
 * Builds a session whose API accepts only the keys in `validKeys`, with tokens named
 * `token-<n>` that live `lifetimeMs`. `failNext` makes the next issueToken calls fail.
 */
function createSession(
  options: { validKeys?: string[]; storedKey?: string; lifetimeMs?: number } = {},
): Harness & { failNext: Error[] } {
  const storage = new MemoryStorage();
  if (options.storedKey) storage.setItem(storageKey, options.storedKey);
  const prompt = new FakeKeyPrompt();
  const issuedFor: string[] = [];
  const failNext: Error[] = [];
  const valid = new Set(options.validKeys ?? ['good-key']);

  const session = new AuthSession({
    issueToken: async (key: string): Promise<IssuedToken> => {
      issuedFor.push(key);
      const failure = failNext.shift();
      if (failure) throw failure;
      if (!valid.has(key)) throw apiError(401, 'The API key is invalid or revoked');
      return { token: `token-${issuedFor.length}`, lifetimeMs: options.lifetimeMs ?? 60 * minute };
    },
    keyPrompt: prompt,
    storage,
  });
  const changes: string[] = [];
  session.onTokenChange((token) => changes.push(token));

  return { session, prompt, storage, issuedFor, changes, failNext };
}

beforeEach(() => {
  vi.useFakeTimers();
  // Jitter factor 1, so that the retry delay is exactly renewRetryMs.
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('AuthSession without a key', () => {
  it('sends no key or token', async () => {
    const { session, issuedFor } = createSession();
    await session.start();

    expect(session.apiKey).toBeUndefined();
    expect(session.readToken()).toBeUndefined();
    expect(issuedFor).toEqual([]);
  });

  it('asks once for requests rejected together', async () => {
    const { session, prompt } = createSession();
    const first = session.replaceRejectedKey(undefined);
    const second = session.replaceRejectedKey(undefined);
    await prompt.enter('good-key');

    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(prompt.problems).toEqual([undefined]);
  });

  it('keeps an accepted key', async () => {
    const { session, prompt, storage } = createSession();
    const replaced = session.replaceRejectedKey(undefined);
    await prompt.enter('good-key');
    await replaced;

    expect(session.apiKey).toBe('good-key');
    expect(storage.getItem(storageKey)).toBe('good-key');
    expect(session.readToken()).toBe('token-1');
    expect(prompt.closed).toBe(1);
  });
});

describe('AuthSession key form', () => {
  it('asks again after a wrong key', async () => {
    const { session, prompt, storage } = createSession();
    const replaced = session.replaceRejectedKey(undefined);
    await prompt.enter('wrong-key');

    expect(prompt.problems).toEqual([undefined, keyProblems.rejected]);
    expect(storage.getItem(storageKey)).toBeNull();
    expect(session.apiKey).toBeUndefined();

    await prompt.enter('good-key');
    await replaced;
    expect(session.apiKey).toBe('good-key');
  });

  it('shows why a key could not be checked', async () => {
    const { session, prompt, failNext } = createSession();
    failNext.push(apiError(0, 'The export service could not be reached.'));
    void session.replaceRejectedKey(undefined);
    await prompt.enter('good-key');

    expect(prompt.problems.at(-1)).toBe(
      keyProblems.unchecked('The export service could not be reached.'),
    );
  });

  it('skips the form for a replaced key', async () => {
    const { session, prompt } = createSession();
    const replaced = session.replaceRejectedKey(undefined);
    await prompt.enter('good-key');
    await replaced;

    // A request sent before the key was entered carried none; it is sent again at once.
    await session.replaceRejectedKey(undefined);
    expect(prompt.problems).toHaveLength(1);
  });
});

describe('AuthSession stored key', () => {
  it('gets a token with it', async () => {
    const { session, prompt, issuedFor } = createSession({ storedKey: 'good-key' });
    await session.start();

    expect(issuedFor).toEqual(['good-key']);
    expect(session.readToken()).toBe('token-1');
    expect(prompt.problems).toEqual([]);
  });

  it('forgets a revoked key', async () => {
    const { session, prompt, storage } = createSession({ storedKey: 'revoked-key' });
    const started = session.start();
    await vi.advanceTimersByTimeAsync(0);

    expect(prompt.problems).toEqual([keyProblems.revoked]);
    expect(storage.getItem(storageKey)).toBeNull();

    await prompt.enter('good-key');
    await started;
    expect(storage.getItem(storageKey)).toBe('good-key');
  });
});

describe('AuthSession token renewal', () => {
  it.each([
    [60 * minute, 55 * minute],
    [1 * minute, 48_000],
  ])('renews a token of %d ms after %d ms', async (lifetimeMs, renewAfterMs) => {
    const { session, issuedFor } = createSession({ storedKey: 'good-key', lifetimeMs });
    await session.start();

    await vi.advanceTimersByTimeAsync(renewAfterMs - 1);
    expect(issuedFor).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(issuedFor).toHaveLength(2);
    expect(session.readToken()).toBe('token-2');
  });

  it('tells listeners of each token', async () => {
    const { session, changes } = createSession({ storedKey: 'good-key' });
    await session.start();
    await session.renewToken();

    expect(changes).toEqual(['token-1', 'token-2']);
  });

  it('retries a failed renewal', async () => {
    const { session, issuedFor, failNext } = createSession({ storedKey: 'good-key' });
    await session.start();
    failNext.push(apiError(0));
    await vi.advanceTimersByTimeAsync(55 * minute);

    expect(issuedFor).toHaveLength(2);
    expect(session.readToken()).toBe('token-1');

    await vi.advanceTimersByTimeAsync(renewRetryMs);
    expect(issuedFor).toHaveLength(3);
    expect(session.readToken()).toBe('token-3');
  });

  it('renews a token found past due', async () => {
    const { session, issuedFor } = createSession({ storedKey: 'good-key' });
    await session.start();
    // The clock jumps without the timers firing, as when the computer wakes from sleep.
    vi.setSystemTime(Date.now() + 56 * minute);

    expect(session.readToken()).toBe('token-1');
    await vi.advanceTimersByTimeAsync(0);
    expect(issuedFor).toHaveLength(2);
    expect(session.readToken()).toBe('token-2');
  });

  it('renews before a download when due', async () => {
    const { session, issuedFor } = createSession({ storedKey: 'good-key' });
    await session.start();
    await session.ensureFreshToken();
    expect(issuedFor).toHaveLength(1);

    vi.setSystemTime(Date.now() + 56 * minute);
    await session.ensureFreshToken();
    expect(issuedFor).toHaveLength(2);
  });

  it('asks for a key when renewal is rejected', async () => {
    const { session, prompt, failNext } = createSession({ storedKey: 'good-key' });
    await session.start();
    failNext.push(apiError(401));
    await vi.advanceTimersByTimeAsync(55 * minute);

    expect(prompt.problems).toEqual([keyProblems.revoked]);
  });
});
