/** Delays between status polls and between attempts to reopen an event stream. */

/** Poll delays in ms: soon after a change, slower while nothing changes, slowest on errors. */
export const pollDelays = {
  changedMs: 1_000,
  unchangedFactor: 1.5,
  unchangedMaxMs: 10_000,
  errorFirstMs: 2_000,
  errorFactor: 2,
  errorMaxMs: 30_000,
};

/** Delays in ms before the page reopens an event stream that failed. */
export const streamDelays = { firstMs: 1_000, factor: 2, maxMs: 8_000 };

/**
 * Returns the delay before the next poll, given the previous delay (undefined for the first
 * poll) and the poll's outcome: 'changed', 'unchanged' or 'error'. A Retry-After from the
 * server, in ms, is a lower bound.
 */
export function nextPollDelay(previousMs, outcome, retryAfterMs = 0) {
  const previous = previousMs ?? pollDelays.changedMs;
  let delay;

  if (outcome === 'changed') {
    delay = pollDelays.changedMs;
  } else if (outcome === 'unchanged') {
    delay = Math.min(pollDelays.unchangedMaxMs, previous * pollDelays.unchangedFactor);
  } else {
    const grown = Math.max(pollDelays.errorFirstMs, previous * pollDelays.errorFactor);
    delay = Math.min(pollDelays.errorMaxMs, grown);
  }

  return Math.max(delay, retryAfterMs);
}

/** Returns the delay before reopening a stream after `failures` failures in a row (1 or more). */
export function streamReopenDelay(failures) {
  const delay = streamDelays.firstMs * streamDelays.factor ** Math.max(0, failures - 1);
  return Math.min(streamDelays.maxMs, delay);
}

/**
 * Spreads `delayMs` by up to 20% either way, so that many pages that lost the server at the
 * same moment do not come back at the same moment. `random` returns a number in [0, 1).
 */
export function withJitter(delayMs, random = Math.random) {
  return Math.round(delayMs * (0.8 + 0.4 * random()));
}
