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
  #downloadUrl;

  /**
   * `actions`: `onRetry(item)`, `onCancel(item)` and `onDownload(item)` run when the user asks
   * for them, and `downloadUrl(jobId)` returns the link of the export's zip.
   */
  constructor(snapshot, { onRetry, onCancel, onDownload, downloadUrl }) {
    this.#parts = buildExportParts(snapshot.jobId);
    this.node = this.#parts.item;
    this.#downloadUrl = downloadUrl;

    const { retry, cancel, download } = this.#parts;
    retry.addEventListener('click', () => {
      if (isEnabled(retry)) onRetry(this);
    });
    cancel.addEventListener('click', () => {
      if (isEnabled(cancel)) onCancel(this);
    });
    download.addEventListener('click', (event) => {
      // A click that opens a new tab or window, or saves the link, follows the href as it is.
      const modified = event.ctrlKey || event.metaKey || event.shiftKey || event.altKey;
      if (event.button !== 0 || modified) return;

      event.preventDefault();
      onDownload(this);
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
    this.#keepFocusWhile(() => {
      for (const part of [parts.retry, parts.cancel, parts.download, parts.zipName]) {
        setVisible(part, false);
      }
    });
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

  /** Enables or disables the cancel button while a cancel request is in flight. */
  setCancelling(cancelling) {
    setEnabled(this.#parts.cancel, !cancelling);
  }

  /** Puts the current read token into the download link, after the session renewed it. */
  refreshDownloadLink() {
    if (this.#snapshot.status !== 'completed') return;

    this.#parts.download.href = this.#downloadUrl(this.jobId);
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
    const downloadUrl = status === 'completed' ? this.#downloadUrl(this.jobId) : undefined;
    const options = { secondsLeft, downloadUrl };
    this.#keepFocusWhile(() => renderExport(this.#parts, this.#snapshot, options));
  }

  /**
   * Runs `change`, then moves the focus to the heading when `change` hid the focused button,
   * as when an export that ends loses its cancel button. A hidden element drops the focus.
   */
  #keepFocusWhile(change) {
    const focused = document.activeElement;
    change();
    if (focused && this.node.contains(focused) && focused.closest('[hidden]')) this.focus();
  }
}
