/** Small HTTP calls against the export API, and polling helpers for integration tests. */
import type { ExportSnapshot, ExportStatus } from '../../functions/lib/snapshot.js';

/** The body of a 202 from POST /v1/export. */
export interface CreatedExport {
  jobId: string;
  status: ExportStatus;
  totalFileIds: number;
  statusUrl: string;
  progressUrl: string;
}

/** Posts `fileIds` and returns the response and its parsed body. Throws unless it is a 202. */
export async function createExport(
  baseUrl: string,
  fileIds: number[],
  options: { join?: boolean } = {},
): Promise<{ response: Response; body: CreatedExport }> {
  // Tests expect a new export per call, so joining a running twin is off unless asked for.
  const response = await fetch(`${baseUrl}/v1/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ file_ids: fileIds, join: options.join ?? false }),
  });
  const text = await response.text();
  if (response.status !== 202) {
    throw new Error(`POST /v1/export returned ${response.status}, expected 202: ${text}`);
  }

  return { response, body: JSON.parse(text) as CreatedExport };
}

/** Reads one snapshot from the status path or its alias. Throws unless the status is 200. */
export async function getSnapshot(baseUrl: string, path: string): Promise<ExportSnapshot> {
  const response = await fetch(`${baseUrl}${path}`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path} returned ${response.status}: ${text}`);

  return JSON.parse(text) as ExportSnapshot;
}

/** Options of `waitFor`. */
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Names the condition in the timeout error. */
  description: string;
}

/** Calls `check` until it returns a value other than undefined, or throws after the timeout. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;

  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${options.description}`);
    }
    await delay(options.intervalMs ?? 25);
  }
}

/** Polls the status path until the export is completed or failed, and returns that snapshot. */
export async function waitForEnd(
  baseUrl: string,
  exportId: string,
  timeoutMs = 30_000,
): Promise<ExportSnapshot> {
  return waitFor(
    async () => {
      const snapshot = await getSnapshot(baseUrl, `/v1/export/${exportId}`);
      const ended = snapshot.status === 'completed' || snapshot.status === 'failed';
      return ended ? snapshot : undefined;
    },
    { timeoutMs, description: `export ${exportId} to complete or fail` },
  );
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
