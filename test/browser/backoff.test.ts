import { describe, expect, it } from 'vitest';

import {
  nextPollDelay,
  pollDelays,
  streamDelays,
  streamReopenDelay,
  withJitter,
} from '../../web/lib/backoff.js';

describe('nextPollDelay', () => {
  it('starts at the short delay', () => {
    expect(nextPollDelay(undefined, 'unchanged')).toBe(pollDelays.changedMs * 1.5);
  });

  it('returns to the short delay on a change', () => {
    expect(nextPollDelay(8_000, 'changed')).toBe(pollDelays.changedMs);
  });

  it('grows while nothing changes', () => {
    expect(nextPollDelay(2_000, 'unchanged')).toBe(3_000);
  });

  it('caps the unchanged delay', () => {
    expect(nextPollDelay(9_000, 'unchanged')).toBe(pollDelays.unchangedMaxMs);
  });

  it('jumps to the error delay', () => {
    expect(nextPollDelay(pollDelays.changedMs, 'error')).toBe(pollDelays.errorFirstMs);
  });

  it('doubles on repeated errors', () => {
    expect(nextPollDelay(4_000, 'error')).toBe(8_000);
  });

  it('caps the error delay', () => {
    expect(nextPollDelay(20_000, 'error')).toBe(pollDelays.errorMaxMs);
  });

  it('waits at least Retry-After', () => {
    expect(nextPollDelay(1_000, 'error', 45_000)).toBe(45_000);
  });
});

describe('streamReopenDelay', () => {
  it('doubles per failure', () => {
    expect([1, 2, 3].map(streamReopenDelay)).toEqual([1_000, 2_000, 4_000]);
  });

  it('caps the delay', () => {
    expect(streamReopenDelay(10)).toBe(streamDelays.maxMs);
  });
});

describe('withJitter', () => {
  it('stays within 20% below', () => {
    expect(withJitter(1_000, () => 0)).toBe(800);
  });

  it('stays within 20% above', () => {
    expect(withJitter(1_000, () => 0.999_999)).toBe(1_200);
  });
});
