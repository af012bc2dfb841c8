/** Types of eta.js, for the unit tests that import it from TypeScript. */

/** Progress seen at one moment: `at` in ms since the epoch. */
export interface ProgressSample {
  at: number;
  bytesDone: number;
  attempt: number;
}

export const etaWindowMs: number;
export const minSpanMs: number;
export function recordSample(samples: ProgressSample[], sample: ProgressSample): ProgressSample[];
export function estimateSecondsLeft(
  samples: ProgressSample[],
  bytesTotal: number,
  now: number,
): number | undefined;
