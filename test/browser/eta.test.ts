import { describe, expect, it } from 'vitest';

import {
  estimateSecondsLeft,
  etaWindowMs,
  type ProgressSample,
  recordSample,
} from '../../web/lib/eta.js';

function samplesOf(...points: Array<[at: number, bytesDone: number]>): ProgressSample[] {
  return points.reduce<ProgressSample[]>(
    (samples, [at, bytesDone]) => recordSample(samples, { at, bytesDone, attempt: 1 }),
    [],
  );
}

describe('recordSample', () => {
  it('appends growing progress', () => {
    expect(samplesOf([0, 0], [500, 100]).map((s) => s.bytesDone)).toEqual([0, 100]);
  });

  it('skips a sample without progress', () => {
    expect(samplesOf([0, 100], [500, 100])).toHaveLength(1);
  });

  it('restarts when bytes go down', () => {
    expect(samplesOf([0, 100], [500, 200], [900, 50]).map((s) => s.bytesDone)).toEqual([50]);
  });

  it('restarts on a new attempt', () => {
    const first = recordSample([], { at: 0, bytesDone: 0, attempt: 1 });
    const second = recordSample(first, { at: 500, bytesDone: 100, attempt: 2 });

    expect(second).toEqual([{ at: 500, bytesDone: 100, attempt: 2 }]);
  });

  it('keeps one sample at the window start', () => {
    const samples = samplesOf([0, 0], [1_000, 10], [2_000, 20], [etaWindowMs + 1_500, 30]);

    expect(samples.map((s) => s.at)).toEqual([1_000, 2_000, etaWindowMs + 1_500]);
  });
});

describe('estimateSecondsLeft', () => {
  it('divides bytes left by the rate', () => {
    const samples = samplesOf([0, 0], [2_000, 200]);

    expect(estimateSecondsLeft(samples, 1_000, 2_000)).toBe(8);
  });

  it('grows while the export stalls', () => {
    const samples = samplesOf([0, 0], [2_000, 200]);

    expect(estimateSecondsLeft(samples, 1_000, 4_000)).toBe(16);
  });

  it('waits for a second sample', () => {
    expect(estimateSecondsLeft(samplesOf([0, 100]), 1_000, 5_000)).toBeUndefined();
  });

  it('waits for a span of a second', () => {
    const samples = samplesOf([0, 0], [400, 200]);

    expect(estimateSecondsLeft(samples, 1_000, 400)).toBeUndefined();
  });

  it('needs a known total', () => {
    const samples = samplesOf([0, 0], [2_000, 200]);

    expect(estimateSecondsLeft(samples, 0, 2_000)).toBeUndefined();
  });

  it('returns zero when all is read', () => {
    const samples = samplesOf([0, 0], [2_000, 1_000]);

    expect(estimateSecondsLeft(samples, 1_000, 2_000)).toBe(0);
  });
});
