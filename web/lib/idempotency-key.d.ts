/** Types of idempotency-key.js, for the unit tests that import it from TypeScript. */

/** The part of the Web Crypto API that `newIdempotencyKey` uses. */
export interface RandomSource {
  randomUUID?: () => string;
  getRandomValues<T extends Uint8Array>(array: T): T;
}

export function newIdempotencyKey(cryptoSource?: RandomSource): string;
