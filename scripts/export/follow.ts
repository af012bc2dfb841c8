/**
 * Follows an export to its end. It reads Server-Sent Events, reconnects with `Last-Event-ID`
 * and backoff when the stream drops, and polls the status URL when the stream keeps failing.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { terminalStatuses, type ExportSnapshot } from '../../functions/lib/snapshot.js';
import { ApiError, fetchSnapshot, unusableBodyStatus } from './api.js';
import { readSseConnection, type FollowState } from './sse-connection.js';

/** Options of `followExport`. The timing fields are in milliseconds. */
export interface FollowOptions {
  progressUrl: string;
  statusUrl: string;
  /** Called once per new snapshot version, from the stream or from polling. */
  onSnapshot: (snapshot: ExportSnapshot) => void;
  /** Called with a sentence on each reconnect, failure and fallback. */
  onNotice?: (message: string) => void;
  /** Reconnects in a row without a new snapshot before polling takes over. Default 4. */
  maxReconnects?: number;
  /** The first reconnect delay, doubled on each further one. Default 500. */
  reconnectDelayMs?: number;
  /** The maximum reconnect delay. Default 8000. */
  maxReconnectDelayMs?: number;
  /** The time between two polls once polling has taken over. Default 1000. */
  pollIntervalMs?: number;
  /** Failed polls in a row before the follower gives up. Default 10. */
  maxPollFailures?: number;
  /**
   * A stream silent this long counts as dropped. Default 60000, which is four periods of the
   * API's default 15 s heartbeat.
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

type FollowSettings = Required<Omit<FollowOptions, 'signal'>> & { signal: AbortSignal | undefined };

/** Follows the export until it is completed or failed and returns the terminal snapshot. */
export async function followExport(options: FollowOptions): Promise<ExportSnapshot> {
  const settings = withDefaults(options);
  const state: FollowState = { lastEventId: undefined, lastVersion: 0, retryMs: undefined };

  let reconnects = 0;
  while (reconnects <= settings.maxReconnects) {
    const versionBefore = state.lastVersion;

    const terminal = await readOrNotice(settings, state);
    if (terminal !== null) return terminal;

    // Only reconnects without a new snapshot count toward the limit, because a connection that
    // delivered one was working.
    reconnects = state.lastVersion > versionBefore ? 1 : reconnects + 1;
    if (reconnects > settings.maxReconnects) break;

    const baseMs = state.retryMs ?? settings.reconnectDelayMs;
    const delayMs = reconnectDelayMs(reconnects, baseMs, settings.maxReconnectDelayMs);
    settings.onNotice(`Reconnecting to the progress stream in ${delayMs} ms (try ${reconnects}).`);
    await sleep(delayMs, undefined, { signal: settings.signal });
  }

  settings.onNotice(`The progress stream keeps failing; polling ${settings.statusUrl} instead.`);
  return pollUntilTerminal(settings, state);
}

/** Returns the delay before reconnect `attempt` (from 1), which doubles `baseMs` up to `maxMs`. */
export function reconnectDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

async function readOrNotice(
  settings: FollowSettings,
  state: FollowState,
): Promise<ExportSnapshot | null> {
  try {
    const terminal = await readSseConnection(settings, state);
    if (terminal === null) settings.onNotice('The progress stream ended before a terminal frame.');

    return terminal;
  } catch (error) {
    if (!isRecoverable(error, settings.signal)) throw error;

    settings.onNotice(`The progress stream failed: ${describe(error)}`);
    return null;
  }
}

async function pollUntilTerminal(
  settings: FollowSettings,
  state: FollowState,
): Promise<ExportSnapshot> {
  let failures = 0;

  for (;;) {
    try {
      const snapshot = await fetchSnapshot(settings.statusUrl, settings.signal);
      failures = 0;
      if (snapshot.version > state.lastVersion) {
        state.lastVersion = snapshot.version;
        settings.onSnapshot(snapshot);
      }
      if (terminalStatuses.has(snapshot.status)) return snapshot;
    } catch (error) {
      failures += 1;
      const transient = isRecoverable(error, settings.signal) && !isBodyError(error);
      if (!transient || failures >= settings.maxPollFailures) throw error;

      settings.onNotice(`Polling failed (${failures} in a row): ${describe(error)}`);
    }

    await sleep(settings.pollIntervalMs, undefined, { signal: settings.signal });
  }
}

/**
 * Returns true for network failures, timeouts, 429, 5xx and unusable bodies. Other 4xx
 * statuses, such as 404 for an unknown job, and the caller's own abort are final.
 */
function isRecoverable(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  if (error instanceof ApiError) return error.retryable || isBodyError(error);

  return true;
}

function isBodyError(error: unknown): boolean {
  return error instanceof ApiError && error.status === unusableBodyStatus;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);

  // Node's fetch (undici) reports network failures as "fetch failed" with the reason in `cause`.
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

function withDefaults(options: FollowOptions): FollowSettings {
  return {
    progressUrl: options.progressUrl,
    statusUrl: options.statusUrl,
    onSnapshot: options.onSnapshot,
    onNotice: options.onNotice ?? (() => {}),
    maxReconnects: options.maxReconnects ?? 4,
    reconnectDelayMs: options.reconnectDelayMs ?? 500,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 8_000,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    maxPollFailures: options.maxPollFailures ?? 10,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    signal: options.signal,
  };
}
