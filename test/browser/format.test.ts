import { describe, expect, it } from 'vitest';

import { formatBytes, formatDuration, shortId } from '../../web/lib/format.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 bytes'],
    [1023, '1023 bytes'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1.25 * 1024 * 1024, '1.3 MiB'],
    [150 * 1024 * 1024, '150 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
  ])('formats %d', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [0.2, '1 s'],
    [59.1, '1 min'],
    [130, '2 min 10 s'],
    [3600, '1 h'],
    [3900, '1 h 5 min'],
  ])('formats %d s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('shortId', () => {
  it('keeps eight characters', () => {
    expect(shortId('f4334ec6-4ca0-4e9b-9123-6657f83ba769')).toBe('f4334ec6');
  });
});
