/** One export in the list: a progress bar, its details and actions, updated from snapshots. */
import { estimateSecondsLeft, recordSample } from '../lib/eta.js';
import { shortId } from '../lib/format.js';
import { isEnabled, setEnabled, setVisible } from './dom.js';
import { buildExportParts, renderExport } from './export-parts.js';

export class ExportItem {
  #snapshot;
  /** Progress seen so far, for the estimate of the time left. */
  #samples = [];
  #parts;

  /** `onRetry(item)` runs when the user asks to retry this failed export. */
  constructor(snapshot, { onRetry }) {
    this.#parts = buildExportParts(snapshot.jobId);
    this.node = this.#parts.item;

    const retry = this.#parts.retry;
    retry.addEventListener('click', () => {
      if (isEnabled(retry)) onRetry(this);
    });
    this.#snapshot = snapshot;
    this.#render();
  }

  get jobId() {
    return this.#snapshot.jobId;
  }

  get snapshot() {
    return this.#snapshot;
  }

  /** Shows `snapshot` unless the item already shows a newer one. Returns whether it did. */
  update(snapshot) {
    if (snapshot.version <= this.#snapshot.version) return false;

    this.#snapshot = snapshot;
    this.#render();
    return true;
  }

  /** Shows that the export no longer exists, as when its record expired. */
  markNotFound() {
    const parts = this.#parts;
    parts.status.textContent = 'Not found';
    parts.status.className = 'status status-failed';
    parts.details.textContent = 'The service no longer has this export.';
    parts.item.dataset.status = 'not_found';
    setVisible(parts.retry, false);
  }

  /** Replaces the retry button with a note naming the export that retries this one. */
  markRetried(newJobId) {
    setVisible(this.#parts.retry, false);
    this.#parts.retried.textContent = `Retried as export ${shortId(newJobId)}.`;
    setVisible(this.#parts.retried, true);
  }

  /** Enables or disables the retry button while a retry request is in flight. */
  setRetrying(retrying) {
    setEnabled(this.#parts.retry, !retrying);
  }

  /** Moves the keyboard focus to the export's heading. */
  focus() {
    this.#parts.title.focus();
  }

  #render() {
    const now = Date.now();
    const { progress, attempt, status } = this.#snapshot;
    if (progress) {
      const sample = { at: now, bytesDone: progress.bytesDone, attempt };
      this.#samples = recordSample(this.#samples, sample);
    }

    const secondsLeft =
      status === 'processing'
        ? estimateSecondsLeft(this.#samples, progress?.bytesTotal ?? 0, now)
        : undefined;
    renderExport(this.#parts, this.#snapshot, secondsLeft);
  }
}
