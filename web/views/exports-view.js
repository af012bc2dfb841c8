/**
 * The user's exports, newest first and paged, each followed live until it ends. On load it
 * follows again every unfinished export of the first page and of this browser's saved list,
 * so a reload mid-export picks up where the page was.
 */
import { ApiError, fetchSnapshotResult } from '../lib/api.js';
import { ExportFollower, terminalStatuses } from '../lib/follower.js';
import { shortId } from '../lib/format.js';
import { forgetExport, loadSavedExports, saveExport } from '../lib/saved-exports.js';
import { announce, isEnabled, setEnabled, setVisible, showError } from './dom.js';
import { ExportItem } from './export-item.js';

const pageSize = 20;

/** Messages for the live region when an export reaches a status, read after its name. */
const statusAnnouncements = {
  processing: () => 'is in progress.',
  completed: () => 'is ready to download.',
  failed: (snapshot) => `failed: ${snapshot.error?.message ?? 'no reason given.'}`,
  cancelled: () => 'was cancelled.',
  expired: () => 'has expired.',
};

const modeNotes = {
  stream: 'Progress updates live.',
  poll: 'Live updates are unavailable, so the page checks progress every few seconds.',
};

export class ExportsView {
  #api;
  #session;
  #items = new Map();
  #follower;
  #nextCursor = null;
  #list = document.getElementById('exports-list');
  #more = document.getElementById('exports-more');
  #empty = document.getElementById('exports-empty');
  #modeNote = document.getElementById('follow-mode');
  /** The last quarter (0 to 3) of progress announced per export. */
  #announcedQuarters = new Map();

  /**
   * `EventSourceClass` is the browser's EventSource, or undefined to poll. `session` is the
   * AuthSession whose read token the download links carry.
   */
  constructor(api, EventSourceClass, session) {
    this.#api = api;
    this.#session = session;
    this.#follower = new ExportFollower({
      EventSource: EventSourceClass,
      streamUrl: (ids) => api.progressUrl(ids),
      fetchSnapshot: (jobId) => fetchSnapshotResult(api, jobId),
      onSnapshot: (snapshot) => this.#onSnapshot(snapshot),
      onNotFound: (jobId) => this.#onNotFound(jobId),
      onModeChange: (mode) => this.#showMode(mode),
    });
    this.#showMode(this.#follower.mode);
    this.#more.addEventListener('click', () => {
      if (isEnabled(this.#more)) void this.loadMore();
    });
    session.onTokenChange(() => {
      for (const item of this.#items.values()) item.refreshDownloadLink();
    });
  }

  /** Loads the first page and the saved exports, and follows those that have not ended. */
  async start() {
    await this.loadMore();
    const saved = loadSavedExports().filter((jobId) => !this.#items.has(jobId));
    await Promise.all(saved.map((jobId) => this.#restore(jobId)));
    this.#renderEmpty();
  }

  /** Loads the next page of exports (the first page on the first call). */
  async loadMore() {
    setEnabled(this.#more, false);
    try {
      const page = await this.#api.listExports(this.#nextCursor ?? undefined, pageSize);
      for (const snapshot of page.exports) this.#show(snapshot);
      this.#nextCursor = page.nextCursor;
      showError('exports', '');
    } catch (error) {
      showError('exports', `Your exports could not be loaded: ${error.message}`);
    } finally {
      setEnabled(this.#more, true);
      setVisible(this.#more, this.#nextCursor !== null);
      this.#renderEmpty();
    }
  }

  /**
   * Shows and follows an export that the API has just accepted (a 202 body). When the API
   * joined the request to a running export of the same files, that export is the one shown.
   */
  addAccepted(accepted) {
    const name = `Export ${shortId(accepted.jobId)}`;
    const known = this.#items.get(accepted.jobId);
    saveExport(accepted.jobId);
    announce(
      accepted.joined
        ? `${name} of the same files is already running, so no new export was started.`
        : `${name} started.`,
    );
    if (known) return known;

    // The follower's first frame replaces this placeholder, whose version is lower than any.
    const placeholder = {
      jobId: accepted.jobId,
      status: accepted.status,
      createdAt: new Date().toISOString(),
      version: 0,
    };
    return this.#show(placeholder);
  }

  /** Creates or updates the item of `snapshot`, and follows it unless it has ended. */
  #show(snapshot) {
    let item = this.#items.get(snapshot.jobId);
    if (item) {
      item.update(snapshot);
    } else {
      item = new ExportItem(snapshot, {
        onRetry: (failed) => void this.#retry(failed),
        onCancel: (running) => void this.#cancel(running),
        onDownload: (completed) => void this.#download(completed),
        downloadUrl: (jobId) => this.#api.downloadUrl(jobId),
      });
      this.#items.set(snapshot.jobId, item);
      this.#insert(item);
    }

    if (terminalStatuses.has(snapshot.status)) forgetExport(snapshot.jobId);
    else this.#follower.follow([snapshot.jobId]);
    this.#renderEmpty();
    return item;
  }

  /** Puts `item` in the list by creation time, newest first. */
  #insert(item) {
    const createdAt = item.snapshot.createdAt;
    const older = [...this.#items.values()].filter(
      (other) => other !== item && other.node.isConnected && other.snapshot.createdAt < createdAt,
    );
    const next = older.sort((a, b) => b.snapshot.createdAt.localeCompare(a.snapshot.createdAt))[0];
    this.#list.insertBefore(item.node, next?.node ?? null);
  }

  async #restore(jobId) {
    const result = await fetchSnapshotResult(this.#api, jobId);
    if (result.status === 'ok') this.#show(result.snapshot);
    if (result.status === 'not_found') forgetExport(jobId);
    // NOTE: on other errors the id stays saved, so the next load tries it again.
  }

  #onSnapshot(snapshot) {
    const item = this.#items.get(snapshot.jobId);
    const previousStatus = item?.snapshot.status;
    this.#show(snapshot);
    this.#announceChange(snapshot, previousStatus);
  }

  #announceChange(snapshot, previousStatus) {
    const name = `Export ${shortId(snapshot.jobId)}`;
    if (snapshot.status !== previousStatus) {
      const message = statusAnnouncements[snapshot.status]?.(snapshot);
      if (message) announce(`${name} ${message}`);
      return;
    }

    const quarter = Math.floor((snapshot.progress?.percent ?? 0) / 25);
    const announced = this.#announcedQuarters.get(snapshot.jobId) ?? 0;
    if (snapshot.status === 'processing' && quarter > announced) {
      this.#announcedQuarters.set(snapshot.jobId, quarter);
      announce(`${name}: ${quarter * 25}% done.`);
    }
  }

  #onNotFound(jobId) {
    forgetExport(jobId);
    this.#items.get(jobId)?.markNotFound();
  }

  async #retry(failed) {
    failed.setRetrying(true);
    try {
      const accepted = await this.#api.retryExport(failed.jobId);
      failed.markRetried(accepted.jobId);
      this.addAccepted(accepted).focus();
      showError('retry', '');
    } catch (error) {
      const message = `Export ${shortId(failed.jobId)} could not be retried: ${error.message}`;
      showError('retry', message);
    } finally {
      failed.setRetrying(false);
    }
  }

  async #cancel(item) {
    item.setCancelling(true);
    try {
      const snapshot = await this.#api.cancelExport(item.jobId);
      this.#onSnapshot(snapshot);
      showError('cancel', '');
    } catch (error) {
      const message = `Export ${shortId(item.jobId)} could not be cancelled: ${error.message}`;
      showError('cancel', message);
    } finally {
      item.setCancelling(false);
    }
  }

  /**
   * Checks that the zip still exists before following the download link, so that a zip
   * deleted after its retention marks the export expired instead of opening the API's error
   * in place of the page. A token due for renewal, as after the computer slept, is renewed
   * first.
   */
  async #download(item) {
    try {
      await this.#session.ensureFreshToken();
      const snapshot = await this.#api.getExport(item.jobId);
      this.#onSnapshot(snapshot);
      showError('download', '');
      if (snapshot.status !== 'completed') return;

      // The response is a download, so the browser stays on this page.
      window.location.assign(this.#api.downloadUrl(item.jobId));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.#onNotFound(item.jobId);
        return;
      }
      const message = `Export ${shortId(item.jobId)} could not be downloaded: ${error.message}`;
      showError('download', message);
    }
  }

  #showMode(mode) {
    this.#modeNote.textContent = modeNotes[mode];
    this.#modeNote.dataset.mode = mode;
  }

  #renderEmpty() {
    setVisible(this.#empty, this.#items.size === 0);
  }
}
