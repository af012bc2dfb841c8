/**
 * The `deliver-webhook` job: POSTs an ended export's snapshot to its `callbackUrl`, signed as
 * Standard Webhooks describes, and records every attempt on the export. Non-2xx answers and
 * network errors retry with backoff; an address outside the allow-list never does.
 */
import { type } from 'arktype';

import { defineJob } from '../runtime/contract/define.js';
import { isError, PermanentJobError, RetryableJobError, WebhookRejectedError } from '../runtime/contract/errors.js';
import type { Clock, JobRecords, WebhookSender, WebhookSigner } from './lib/ports.js';
import { type ExportRecord, toSnapshot } from './lib/snapshot.js';

export interface DeliverWebhookDeps {
  records: JobRecords;
  webhooks: WebhookSender;
  webhookSigner: WebhookSigner;
  clock: Clock;
}

export const deliverWebhook = defineJob({
  name: 'deliver-webhook',
  queue: 'exports',
  input: type({ exportId: 'string.uuid' }),
  expectedDurationSeconds: 30,
  async handler({ exportId }, deps: DeliverWebhookDeps, context) {
    const record = await deps.records.get(exportId);
    if (!record?.callbackUrl || record.webhook?.delivered) return;

    const payload = JSON.stringify({ type: `export.${record.status}`, data: toSnapshot(record) });
    // One id for every attempt, so that the receiver can drop duplicates.
    const messageId = `msg_${exportId}_${record.status}`;
    const now = new Date(deps.clock.now());
    const headers = {
      'Content-Type': 'application/json',
      'webhook-id': messageId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': deps.webhookSigner.sign(messageId, now, payload),
    };

    const outcome = await send(deps, record.callbackUrl, payload, headers);
    await recordAttempt(deps, record, now, outcome);
    context.telemetry.setAttributes({ 'webhook.status': outcome.status ?? 0 });
    if (outcome.delivered) return;
    if (outcome.rejected) throw new PermanentJobError('webhook_rejected', outcome.error ?? '');

    throw new RetryableJobError('webhook_failed', outcome.error ?? `Answered ${outcome.status}`);
  },
});

interface Outcome {
  delivered: boolean;
  rejected: boolean;
  status?: number;
  error?: string;
}

async function send(
  deps: DeliverWebhookDeps,
  url: string,
  payload: string,
  headers: Record<string, string>,
): Promise<Outcome> {
  try {
    const { status } = await deps.webhooks.post(url, payload, headers);
    const delivered = status >= 200 && status < 300;
    return { delivered, rejected: false, status, ...(delivered ? {} : { error: `Answered ${status}` }) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { delivered: false, rejected: isError(error, WebhookRejectedError), error: message };
  }
}

async function recordAttempt(deps: DeliverWebhookDeps, record: ExportRecord, at: Date, outcome: Outcome) {
  const attempt = {
    at: at.toISOString(),
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };

  await deps.records.update(record.jobId, (current) => ({
    ...current,
    webhook: {
      delivered: outcome.delivered,
      attempts: [...(current.webhook?.attempts ?? []), attempt],
    },
  }));
}
