import { describe, expect, it } from 'vitest';

import { formatBytes, formatRate, formatSeconds } from './format.js';
import { formatSummary, type SummaryInput } from './summary.js';

const input: SummaryInput = {
  jobId: 'job-1',
  requestedIds: [70000, 70001, 70007, 70000],
  missingFileIds: [70007],
  zipSize: 3 * 1024 * 1024,
  keptPath: 'out.zip',
  report: {
    entries: [
      { fileName: 'a.bin', fileId: 70000, size: 2_000_000 },
      { fileName: 'b.bin', fileId: 70001, size: 1_000_000 },
    ],
    verifiedEntries: 2,
    verifiedBytes: 3_000_000,
    problems: [],
  },
  timings: { exportMs: 2_000, downloadMs: 500, verifyMs: 1_500, totalMs: 4_000 },
  problems: [],
};

describe('formatSummary', () => {
  it('lists counts, missing ids and rates', () => {
    const text = formatSummary(input);

    expect(text).toContain('requested ids     3 distinct');
    expect(text).toContain('entries verified  2 of 2');
    expect(text).toContain('missing ids       70007');
    expect(text).toContain('zip               3.0 MiB, out.zip');
    expect(text).toContain('verify            1.5 s, 2.00 MB/s');
    expect(text).toContain('Verification passed');
  });

  it('lists every problem', () => {
    const text = formatSummary({ ...input, keptPath: undefined, problems: ['first', 'second'] });

    expect(text).toContain('temporary file deleted');
    expect(text).toContain('Verification failed with 2 problem(s):\n  - first\n  - second');
  });
});

describe('format helpers', () => {
  it('formats bytes, seconds and rates', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatSeconds(1234)).toBe('1.2 s');
    expect(formatRate(5_000_000, 2_000)).toBe('2.50 MB/s');
    expect(formatRate(1, 0)).toBe('-');
  });
});
