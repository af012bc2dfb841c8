/** Creating exports through the API and following their records on the Redis channel. */
import { Redis } from 'ioredis';

import type { ExportRecord } from '../../functions/lib/snapshot.js';
import { eventsChannel } from '../../infra/redis/job-records.js';
import type { Stack } from './stack.js';

/** Posts one export with `join: false` and returns its id. Throws unless the status is 202. */
export async function createExport(apiUrl: string, fileIds: number[]): Promise<string> {
  const response = await fetch(`${apiUrl}/v1/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ file_ids: fileIds, join: false }),
  });
  const text = await response.text();
  if (response.status !== 202)
    throw new Error(`POST /v1/export returned ${response.status}: ${text}`);

  return (JSON.parse(text) as { jobId: string }).jobId;
}

/** Every record change the workers publish, kept per export. */
export interface RecordWatcher {
  /** Resolves with the export's first record in `completed`; throws when it fails or times out. */
  completed(jobId: string, timeoutMs: number): Promise<ExportRecord>;
  /** The changes seen so far, oldest first. */
  history(jobId: string): ExportRecord[];
  close(): void;
}

/** Subscribes to the channel on which the service publishes every record change. */
export async function watchRecords(stack: Stack, prefix = 'export'): Promise<RecordWatcher> {
  const subscriber = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 });
  const changes = new Map<string, ExportRecord[]>();
  const waiters = new Map<string, () => void>();
  subscriber.on('message', (_channel: string, message: string) => {
    const record = JSON.parse(message) as ExportRecord;
    const list = changes.get(record.jobId) ?? [];
    list.push(record);
    changes.set(record.jobId, list);
    if (record.status === 'completed' || record.status === 'failed') waiters.get(record.jobId)?.();
  });
  await subscriber.subscribe(eventsChannel(prefix));

  const ended = (jobId: string) =>
    changes.get(jobId)?.find((r) => r.status === 'completed' || r.status === 'failed');

  return {
    async completed(jobId, timeoutMs) {
      if (!ended(jobId)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`Export ${jobId} did not end within ${timeoutMs} ms`)),
            timeoutMs,
          );
          waiters.set(jobId, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        waiters.delete(jobId);
      }
      const record = ended(jobId)!;
      if (record.status !== 'completed') {
        throw new Error(`Export ${jobId} failed: ${JSON.stringify(record.error)}`);
      }

      return record;
    },
    history: (jobId) => changes.get(jobId) ?? [],
    close: () => subscriber.disconnect(),
  };
}

/**
 * Returns the build time of a completed export: from the worker marking it `processing` to
 * the worker marking it `completed`, both by the worker's clock.
 */
export function buildMilliseconds(watcher: RecordWatcher, jobId: string): number {
  const history = watcher.history(jobId);
  const started = history.find((record) => record.status === 'processing');
  const completed = history.find((record) => record.status === 'completed');
  if (!started || !completed)
    throw new Error(`Export ${jobId} has no processing or completed change`);

  return Date.parse(completed.updatedAt) - Date.parse(started.updatedAt);
}
