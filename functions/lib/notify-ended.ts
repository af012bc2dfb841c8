/** Schedules the completion webhook of an export that has just ended. */
import type { JobQueue } from './ports.js';
import type { ExportRecord } from './snapshot.js';

/** Dependencies of scheduling a webhook. */
export interface NotifyDeps {
  queue: JobQueue;
  webhookAttempts: number;
}

/** Enqueues `deliver-webhook` when the export names a callback URL; does nothing otherwise. */
export async function notifyEnded(record: ExportRecord, deps: NotifyDeps): Promise<void> {
  if (!record.callbackUrl) return;

  await deps.queue.enqueue(
    'deliver-webhook',
    { exportId: record.jobId },
    { jobId: `webhook-${record.jobId}`, attempts: deps.webhookAttempts },
  );
}
