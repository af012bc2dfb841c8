/** Types of auth-session.js, for the unit tests that import it from TypeScript. */

/** A read token and how long it stays valid from the moment it was received, in ms. */
export interface IssuedToken {
  token: string;
  lifetimeMs: number;
}

/** The key form, as the session uses it. */
export interface KeyPrompt {
  ask(problem: string | undefined): Promise<string>;
  close(): void;
}

/** The part of the browser's Storage that the session uses. */
export interface KeyStorage {
  getItem(name: string): string | null;
  setItem(name: string, value: string): void;
  removeItem(name: string): void;
}

export interface AuthSessionOptions {
  issueToken(key: string): Promise<IssuedToken>;
  keyPrompt: KeyPrompt;
  storage?: KeyStorage | undefined;
}

export const renewMarginMs: number;
export const renewRetryMs: number;
export const keyProblems: {
  revoked: string;
  rejected: string;
  unchecked(message: string): string;
};

export class AuthSession {
  constructor(options: AuthSessionOptions);
  readonly apiKey: string | undefined;
  start(): Promise<void>;
  readToken(): string | undefined;
  ensureFreshToken(): Promise<void>;
  onTokenChange(listener: (token: string) => void): void;
  renewToken(): Promise<void>;
  replaceRejectedKey(rejectedKey: string | undefined): Promise<void>;
}
