/** Types of follower.js, for the unit tests that import it from TypeScript. */

/** The fields of an export snapshot that the follower reads; the rest pass through. */
export interface FollowedSnapshot {
  jobId: string;
  status: string;
  version: number;
  [field: string]: unknown;
}

export type SnapshotResult =
  | { status: 'ok'; snapshot: FollowedSnapshot }
  | { status: 'not_found' }
  | { status: 'error'; retryAfterMs?: number };

/** The part of the browser's EventSource that the follower uses. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: { data: string }) => void): void;
  close(): void;
}

export type FollowMode = 'stream' | 'poll';

export interface ExportFollowerOptions {
  EventSource: (new (url: string) => EventSourceLike) | undefined;
  streamUrl(ids: string[]): string;
  fetchSnapshot(jobId: string): Promise<SnapshotResult>;
  onSnapshot(snapshot: FollowedSnapshot): void;
  onNotFound?(jobId: string): void;
  onModeChange?(mode: FollowMode): void;
}

export const terminalStatuses: ReadonlySet<string>;
export const maxIdsPerStream: number;
export const streamFailureLimit: number;
export const streamRetryMs: number;
export const firstFrameTimeoutMs: number;

export class ExportFollower {
  constructor(options: ExportFollowerOptions);
  readonly mode: FollowMode;
  readonly followedIds: string[];
  follow(jobIds: string[]): void;
  close(): void;
}
