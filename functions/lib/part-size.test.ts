import { describe, expect, it } from 'vitest';

import { PermanentJobError } from '../../runtime/contract/errors.js';
import { maxParts, maxPartSizeBytes, minPartSizeBytes, planUpload } from './part-size.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const defaultBudget = 64 * MiB;

describe('planUpload', () => {
  it('keeps 5 MiB at 10,000 parts', () => {
    const plan = planUpload(maxParts * 5 * MiB, defaultBudget);

    expect(plan.partSizeBytes).toBe(5 * MiB);
  });

  it('moves to 6 MiB one byte later', () => {
    const plan = planUpload(maxParts * 5 * MiB + 1, defaultBudget);

    expect(plan.partSizeBytes).toBe(6 * MiB);
  });

  it('uses 5 MiB for small exports', () => {
    expect(planUpload(1, defaultBudget).partSizeBytes).toBe(minPartSizeBytes);
    expect(planUpload(0, defaultBudget).partSizeBytes).toBe(minPartSizeBytes);
  });

  it('fits 1 TiB into 10,000 parts', () => {
    const plan = planUpload(TiB, defaultBudget);

    expect(Math.ceil(TiB / plan.partSizeBytes)).toBeLessThanOrEqual(maxParts);
  });

  it('picks the smallest whole-MiB part', () => {
    for (const totalBytes of [TiB, 60 * GiB, 123_456_789_012]) {
      const { partSizeBytes } = planUpload(totalBytes, defaultBudget);

      expect(partSizeBytes % MiB).toBe(0);
      expect(Math.ceil(totalBytes / partSizeBytes)).toBeLessThanOrEqual(maxParts);
      expect(Math.ceil(totalBytes / (partSizeBytes - MiB))).toBeGreaterThan(maxParts);
    }
  });

  it('keeps buffered parts within budget', () => {
    const cases = [
      { totalBytes: 100 * MiB, budget: 10 * MiB },
      { totalBytes: 100 * MiB, budget: 64 * MiB },
      { totalBytes: 100 * GiB, budget: 64 * MiB },
      { totalBytes: TiB, budget: GiB },
      { totalBytes: 10 * TiB, budget: 4 * GiB },
    ];

    for (const { totalBytes, budget } of cases) {
      const plan = planUpload(totalBytes, budget);

      // The uploader buffers one part more than it sends at once.
      expect((plan.partsInFlight + 1) * plan.partSizeBytes).toBeLessThanOrEqual(budget);
    }
  });

  it('caps parts in flight at 8', () => {
    const plan = planUpload(100 * MiB, 10 * GiB);

    expect(plan.partsInFlight).toBe(8);
  });

  it('keeps one part when budget is short', () => {
    // 1 TiB needs 105 MiB parts, more than a 64 MiB budget holds.
    const plan = planUpload(TiB, defaultBudget);

    expect(plan.partsInFlight).toBe(1);
  });

  it('accepts exactly 10,000 parts of 5 GiB', () => {
    const plan = planUpload(maxParts * maxPartSizeBytes, 64 * GiB);

    expect(plan.partSizeBytes).toBe(maxPartSizeBytes);
  });

  it('rejects parts over 5 GiB', () => {
    const tooLarge = () => planUpload(maxParts * maxPartSizeBytes + 1, defaultBudget);

    expect(tooLarge).toThrow(PermanentJobError);
    expect(tooLarge).toThrow(expect.objectContaining({ code: 'export_too_large' }));
  });
});
