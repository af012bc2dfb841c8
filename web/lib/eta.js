/**
 * Estimates the time an export has left from the progress the page has seen, at the rate of
 * the last few seconds. Samples are plain arrays, so a view keeps one per export.
 */

/** Samples older than this are dropped, so the rate follows the recent speed. */
export const etaWindowMs = 10_000;
/** No estimate until the samples span this long, because the first rates swing widely. */
export const minSpanMs = 1_000;

/**
 * Returns `samples` with `sample` ({ at, bytesDone, attempt }) appended and old samples
 * dropped. A new attempt or fewer bytes done means the export started over, so the history
 * restarts with this sample.
 */
export function recordSample(samples, sample) {
  const last = samples.at(-1);
  const restarted = last && (sample.attempt !== last.attempt || sample.bytesDone < last.bytesDone);
  if (!last || restarted) return [sample];
  if (sample.bytesDone === last.bytesDone && sample.at >= last.at) return samples;

  const extended = [...samples, sample];
  // The newest sample at or before the window's start stays, so the rate spans the window.
  const cutoff = sample.at - etaWindowMs;
  let first = 0;
  while (first + 1 < extended.length && extended[first + 1].at <= cutoff) first += 1;

  return extended.slice(first);
}

/**
 * Returns the seconds left to read `bytesTotal`, or undefined while the samples are too few
 * or show no progress. The rate runs up to `now`, so a stalled export's estimate grows.
 */
export function estimateSecondsLeft(samples, bytesTotal, now) {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || bytesTotal <= 0) return undefined;

  const spanMs = Math.max(now, last.at) - first.at;
  const bytesRead = last.bytesDone - first.bytesDone;
  if (spanMs < minSpanMs || bytesRead <= 0) return undefined;

  const bytesPerMs = bytesRead / spanMs;
  return Math.max(0, bytesTotal - last.bytesDone) / bytesPerMs / 1000;
}
