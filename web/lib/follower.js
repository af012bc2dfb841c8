/**
 * Follows exports until each has ended. Up to 50 exports share one Server-Sent Events stream
 * (GET /v1/exports/progress?ids=…), because browsers open at most 6 connections per host over
 * HTTP/1.1. When EventSource is missing or the stream keeps failing, it polls
 * GET /v1/export/:id with backoff instead, and tries the stream again a minute later.
 */
import { nextPollDelay, streamReopenDelay, withJitter } from './backoff.js';

/** Ids per stream, the API's limit. */
export const maxIdsPerStream = 50;
/** Stream failures in a row, with no frame between them, before the follower polls. */
export const streamFailureLimit = 3;
/** While polling after stream failures, the follower tries the stream again after this long. */
export const streamRetryMs = 60_000;
/**
 * A stream counts as failed when its first frame (each export's current snapshot, sent at
 * once) takes longer than this, as when a proxy buffers the response.
 */
export const firstFrameTimeoutMs = 10_000;

/** Statuses after which an export no longer changes, each also the name of its last frame. */
export const terminalStatuses = new Set(['completed', 'failed', 'cancelled', 'expired']);
const snapshotEvents = ['progress', ...terminalStatuses];

export class ExportFollower {
  #options;
  #ids = new Set();
  #versions = new Map();
  #streams = [];
  #mode;
  #failures = 0;
  /** The pending stream reopen (stream mode) or the next poll (poll mode). */
  #timer;
  #retryTimer;
  #pollDelay;
  #pollInFlight = false;
  #pollSoon = false;

  /**
   * `options`: `EventSource` (the constructor, or undefined to poll), `streamUrl(ids)`,
   * `fetchSnapshot(id)` resolving to `{ status: 'ok', snapshot }`, `{ status: 'not_found' }`
   * or `{ status: 'error', retryAfterMs? }`, and the callbacks `onSnapshot(snapshot)`,
   * `onNotFound(jobId)` and `onModeChange(mode)`.
   */
  constructor(options) {
    this.#options = options;
    this.#mode = options.EventSource ? 'stream' : 'poll';
  }

  /** 'stream' or 'poll'. */
  get mode() {
    return this.#mode;
  }

  /** Ids of the exports followed now, which have not ended yet. */
  get followedIds() {
    return [...this.#ids];
  }

  /** Starts following `jobIds`. Ids already followed are left as they are. */
  follow(jobIds) {
    const added = jobIds.filter((jobId) => !this.#ids.has(jobId));
    for (const jobId of added) this.#ids.add(jobId);
    if (added.length > 0) this.#sync();
  }

  /** Stops following every export and closes every connection. */
  close() {
    this.#ids.clear();
    this.#versions.clear();
    this.#stopAll();
  }

  #sync() {
    if (this.#ids.size === 0) {
      this.#stopAll();
      return;
    }

    if (this.#mode === 'poll') {
      this.#pollNow();
      return;
    }

    // A pending reopen covers every id followed when it fires.
    if (this.#timer !== undefined) return;
    const covered = new Set(this.#streams.flatMap((stream) => [...stream.ids]));
    if ([...this.#ids].some((jobId) => !covered.has(jobId))) this.#openStreams();
  }

  #openStreams() {
    this.#closeStreams();
    const ids = [...this.#ids];

    for (let start = 0; start < ids.length; start += maxIdsPerStream) {
      const chunk = ids.slice(start, start + maxIdsPerStream);
      this.#streams.push(this.#openStream(chunk));
    }
  }

  #openStream(ids) {
    const source = new this.#options.EventSource(this.#options.streamUrl(ids));
    const stream = { source, ids: new Set(ids), watchdog: undefined };
    const onFrame = (handle) => (event) => {
      clearTimeout(stream.watchdog);
      this.#failures = 0;
      handle(parseJson(event.data));
    };

    for (const type of snapshotEvents) {
      source.addEventListener(type, onFrame((snapshot) => this.#deliver(snapshot)));
    }
    source.addEventListener('not_found', onFrame((data) => this.#notFound(data?.jobId)));
    source.addEventListener('error', () => this.#onStreamError(stream));
    stream.watchdog = setTimeout(() => this.#onStreamError(stream), firstFrameTimeoutMs);

    return stream;
  }

  #onStreamError(stream) {
    if (!this.#streams.includes(stream)) return;

    // Every stream closes, so that EventSource's own reconnection never runs next to ours.
    this.#closeStreams();
    this.#failures += 1;
    if (this.#failures >= streamFailureLimit) {
      this.#startPolling();
      return;
    }

    const delay = withJitter(streamReopenDelay(this.#failures));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#ids.size > 0) this.#openStreams();
    }, delay);
  }

  /** Returns whether `snapshot` was newer than the last one seen of its export. */
  #deliver(snapshot) {
    if (!snapshot || !this.#ids.has(snapshot.jobId)) return false;
    if (snapshot.version <= (this.#versions.get(snapshot.jobId) ?? 0)) return false;

    this.#versions.set(snapshot.jobId, snapshot.version);
    try {
      this.#options.onSnapshot(snapshot);
    } catch (error) {
      // A failing view must not stop the following, so the error is only thrown later.
      queueMicrotask(() => {
        throw error;
      });
    }
    if (terminalStatuses.has(snapshot.status)) this.#forget(snapshot.jobId);
    return true;
  }

  #notFound(jobId) {
    if (!this.#ids.has(jobId)) return;

    this.#options.onNotFound?.(jobId);
    this.#forget(jobId);
  }

  #forget(jobId) {
    this.#ids.delete(jobId);
    this.#versions.delete(jobId);

    // A stream whose exports have all ended is closed here, before the server ends it, so
    // that its end is never taken for a failure.
    for (const stream of this.#streams.filter((candidate) => candidate.ids.has(jobId))) {
      stream.ids.delete(jobId);
      if (stream.ids.size === 0) this.#closeStream(stream);
    }
    if (this.#ids.size === 0) this.#stopAll();
  }

  #startPolling() {
    this.#setMode('poll');
    this.#pollDelay = undefined;
    this.#pollNow();

    if (!this.#options.EventSource) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#retryStream(), streamRetryMs);
  }

  /** Leaves polling for the stream; one more failure in a row returns to polling. */
  #retryStream() {
    this.#retryTimer = undefined;
    if (this.#ids.size === 0) return;

    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#setMode('stream');
    this.#failures = streamFailureLimit - 1;
    this.#openStreams();
  }

  /** Polls at once, or right after the poll in flight when there is one. */
  #pollNow() {
    if (this.#pollInFlight) {
      this.#pollSoon = true;
      return;
    }

    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, 0);
  }

  async #poll() {
    const ids = [...this.#ids];
    this.#pollInFlight = true;
    const results = await Promise.all(ids.map((jobId) => this.#fetchSnapshot(jobId)));
    this.#pollInFlight = false;

    let outcome = 'unchanged';
    let retryAfterMs = 0;
    results.forEach((result, index) => {
      if (result.status === 'error') {
        outcome = 'error';
        retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs ?? 0);
      } else if (result.status === 'not_found') {
        this.#notFound(ids[index]);
      } else if (this.#deliver(result.snapshot) && outcome === 'unchanged') {
        outcome = 'changed';
      }
    });

    if (this.#mode !== 'poll' || this.#ids.size === 0) return;
    this.#pollDelay = nextPollDelay(this.#pollDelay, outcome, retryAfterMs);
    const delay = this.#pollSoon ? 0 : withJitter(this.#pollDelay);
    this.#pollSoon = false;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, delay);
  }

  async #fetchSnapshot(jobId) {
    try {
      return await this.#options.fetchSnapshot(jobId);
    } catch {
      return { status: 'error' };
    }
  }

  #setMode(mode) {
    if (mode === this.#mode) return;

    this.#mode = mode;
    this.#options.onModeChange?.(mode);
  }

  #stopAll() {
    this.#closeStreams();
    clearTimeout(this.#timer);
    clearTimeout(this.#retryTimer);
    this.#timer = undefined;
    this.#retryTimer = undefined;
    this.#pollSoon = false;
  }

  #closeStreams() {
    for (const stream of [...this.#streams]) this.#closeStream(stream);
  }

  #closeStream(stream) {
    clearTimeout(stream.watchdog);
    stream.source.close();
    this.#streams = this.#streams.filter((candidate) => candidate !== stream);
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
