/**
 * The page's API key and read token. The user enters the key when the API returns 401, and
 * the page keeps it in sessionStorage, which the browser clears when the tab closes. The read
 * token, an owner-wide grant from POST /v1/tokens, goes into the URLs that cannot carry an
 * Authorization header: the EventSource stream and the download links. The session renews it
 * before it expires. With authentication off the API never returns 401, so there is no key
 * and no token.
 */
import { withJitter } from './backoff.js';

const storageKey = 'export-service.api-key';
/** A token is renewed this long before it expires, or after 80% of its lifetime if sooner. */
export const renewMarginMs = 5 * 60_000;
/** Delay before the next renewal after one failed for another reason than a rejected key. */
export const renewRetryMs = 10_000;

/** Problems shown in the key form, by cause. */
export const keyProblems = {
  revoked:
    'The service no longer accepts your API key. It may have been revoked. Enter a valid key.',
  rejected: 'The service did not accept this API key. Check the key and enter it again.',
  unchecked: (message) => `The key could not be checked: ${message}`,
};

export class AuthSession {
  #issueToken;
  #keyPrompt;
  #storage;
  #key;
  /** `{ value, renewAt }`, with `renewAt` in ms of this browser's clock. */
  #token;
  #renewTimer;
  /** The renewal in flight, which callers share. */
  #renewal;
  /** The key prompt on screen, which every request that got 401 waits for. */
  #prompt;
  #listeners = new Set();

  /**
   * `options.issueToken(key)` resolves to `{ token, lifetimeMs }`, or rejects with an error
   * whose `status` is the HTTP status. `options.keyPrompt.ask(problem)` shows the key form with
   * an optional problem and resolves to the key entered, and `keyPrompt.close()` hides it.
   * `options.storage` is sessionStorage unless given.
   */
  constructor({ issueToken, keyPrompt, storage = sessionStorageOrUndefined() }) {
    this.#issueToken = issueToken;
    this.#keyPrompt = keyPrompt;
    this.#storage = storage;
    this.#key = readStoredKey(storage);
  }

  /** The API key to send, or undefined while the API has not requested one. */
  get apiKey() {
    return this.#key;
  }

  /** Gets a read token for the key saved earlier in this tab, if there is one. */
  async start() {
    if (this.#key !== undefined) await this.renewToken();
  }

  /**
   * Returns the read token for URLs, or undefined without a key. A token past its renewal
   * time, as after the computer slept, is still returned while a renewal starts.
   */
  readToken() {
    if (!this.#token) return undefined;

    if (Date.now() >= this.#token.renewAt) void this.renewToken();
    return this.#token.value;
  }

  /** Renews the read token first when it is due, as before a download. */
  async ensureFreshToken() {
    if (this.#key === undefined) return;
    if (!this.#token || Date.now() >= this.#token.renewAt) await this.renewToken();
  }

  /** Calls `listener(token)` with every new read token. */
  onTokenChange(listener) {
    this.#listeners.add(listener);
  }

  /**
   * Gets a new read token. When the key is rejected, it shows the key form and resolves once
   * the user has entered a key that works. Other failures keep the current token and try again
   * after `renewRetryMs`.
   */
  renewToken() {
    this.#renewal ??= this.#renew().finally(() => {
      this.#renewal = undefined;
    });
    return this.#renewal;
  }

  /**
   * Shows the key form after the API returned 401 to a request sent with `rejectedKey`
   * (undefined for none). Resolves once the API has accepted a new key, or at once when the
   * key has changed since that request was sent.
   */
  replaceRejectedKey(rejectedKey) {
    if (this.#prompt) return this.#prompt;
    if (rejectedKey !== this.#key) return Promise.resolve();

    let problem;
    if (rejectedKey !== undefined) {
      this.#removeStoredKey();
      problem = keyProblems.revoked;
    }
    this.#prompt = this.#askUntilAccepted(problem).finally(() => {
      this.#prompt = undefined;
    });
    return this.#prompt;
  }

  async #renew() {
    const key = this.#key;
    if (key === undefined) return;
    clearTimeout(this.#renewTimer);

    try {
      this.#setToken(await this.#issueToken(key));
    } catch (error) {
      if (error?.status === 401) {
        await this.replaceRejectedKey(key);
        return;
      }
      this.#renewTimer = setTimeout(() => void this.renewToken(), withJitter(renewRetryMs));
    }
  }

  async #askUntilAccepted(firstProblem) {
    let problem = firstProblem;

    for (;;) {
      const key = await this.#keyPrompt.ask(problem);
      try {
        const issued = await this.#issueToken(key);
        this.#key = key;
        this.#storeKey(key);
        this.#setToken(issued);
        this.#keyPrompt.close();
        return;
      } catch (error) {
        const rejected = error?.status === 401;
        problem = rejected ? keyProblems.rejected : keyProblems.unchecked(error.message);
      }
    }
  }

  #setToken({ token, lifetimeMs }) {
    const margin = Math.min(renewMarginMs, lifetimeMs * 0.2);
    const renewInMs = Math.max(0, lifetimeMs - margin);
    this.#token = { value: token, renewAt: Date.now() + renewInMs };

    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(() => void this.renewToken(), renewInMs);
    for (const listener of this.#listeners) listener(token);
  }

  #storeKey(key) {
    try {
      this.#storage?.setItem(storageKey, key);
    } catch {
      // Storage may be full or blocked; the key then lasts until the page is reloaded.
    }
  }

  #removeStoredKey() {
    try {
      this.#storage?.removeItem(storageKey);
    } catch {
      // Blocked storage holds no key to remove.
    }
  }
}

function readStoredKey(storage) {
  try {
    return storage?.getItem(storageKey) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Returns sessionStorage, or undefined where reading the property throws or it is missing. */
function sessionStorageOrUndefined() {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}
