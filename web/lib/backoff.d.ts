/** Types of backoff.js, for the unit tests that import it from TypeScript. */

export type PollOutcome = 'changed' | 'unchanged' | 'error';

export const pollDelays: {
  changedMs: number;
  unchangedFactor: number;
  unchangedMaxMs: number;
  errorFirstMs: number;
  errorFactor: number;
  errorMaxMs: number;
};
export const streamDelays: { firstMs: number; factor: number; maxMs: number };
export function nextPollDelay(
  previousMs: number | undefined,
  outcome: PollOutcome,
  retryAfterMs?: number,
): number;
export function streamReopenDelay(failures: number): number;
export function withJitter(delayMs: number, random?: () => number): number;
