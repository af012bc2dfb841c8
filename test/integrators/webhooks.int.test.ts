/**
 * Completion webhooks against the real service: a receiver on 127.0.0.1 checks the Standard
 * Webhooks signature and returns errors and redirects, and the allow-list rejects addresses
 * before anything is sent. No request leaves the loopback interface.
 */
import { randomBytes } from 'node:crypto';

import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot, WebhookDelivery } from '../../functions/lib/snapshot.js';
import { getSnapshot, waitFor } from '../support/api.js';
import { readError, type ErrorBody } from '../support/error-body.js';
import { generousLimits } from '../support/generous-limits.js';
import { holdCalls } from '../support/hold-calls.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';
import {
  type ReceivedRequest,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/webhook-receiver.js';

/** The JSON body of every webhook request. */
interface WebhookEvent {
  type: string;
  data: ExportSnapshot;
}

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const attempts = 4;
const source = 96_501;
/** Ids with no source object, so their export fails at once without retries. */
const absentIds = [96_598, 96_599];

let testServices: TestServices;
let receiver: WebhookReceiver;

beforeAll(async () => {
  testServices = await startTestServices();
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await testServices?.stop();
});

describe('webhooks to an allowed loopback receiver', () => {
  let service: RunningService;

  beforeAll(async () => {
    service = await startService({
      testServices,
      env: {
        ...generousLimits,
        WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
        WEBHOOK_SECRET: secret,
        WEBHOOK_ATTEMPTS: String(attempts),
      },
    });
    await service.putSource(source, randomBytes(2_000), 'report.txt');
  });

  afterAll(async () => {
    await service?.stop();
  });

  describe('delivery after two 500 responses', () => {
    const path = '/flaky';
    let exportId: string;
    let requests: ReceivedRequest[];
    let delivery: WebhookDelivery;

    beforeAll(async () => {
      receiver.respond(path, (index) => ({ status: index < 2 ? 500 : 204 }));
      exportId = await createWithCallback(service, [source], receiver.url(path));
      requests = await receiver.waitForRequests(path, 3);
      delivery = await waitForDelivery(service, exportId, (webhook) => webhook.delivered);
    });

    it('verifies with the shared secret', () => {
      const webhook = new Webhook(secret);

      for (const request of requests) {
        expect(() => webhook.verify(request.body, request.headers)).not.toThrow();
      }
    });

    it('rejects a tampered body', () => {
      const first = requests[0]!;
      const tampered = first.body.replace('"export.completed"', '"export.failed"');
      expect(tampered).not.toBe(first.body);

      const verify = () => new Webhook(secret).verify(tampered, first.headers);
      expect(verify).toThrow(WebhookVerificationError);
    });

    it('rejects another secret', () => {
      const first = requests[0]!;
      const otherSecret = `whsec_${randomBytes(24).toString('base64')}`;

      const verify = () => new Webhook(otherSecret).verify(first.body, first.headers);
      expect(verify).toThrow(WebhookVerificationError);
    });

    it('posts JSON', () => {
      const first = requests[0]!;
      expect(first.method).toBe('POST');
      expect(first.headers['content-type']).toBe('application/json');
    });

    it('sends export.completed', () => {
      const event = JSON.parse(requests[2]!.body) as WebhookEvent;
      expect(event.type).toBe('export.completed');
    });

    it('sends the snapshot as data', () => {
      const event = JSON.parse(requests[2]!.body) as WebhookEvent;
      expect(event.data.jobId).toBe(exportId);
      expect(event.data.status).toBe('completed');
      expect(event.data.zip?.fileName).toMatch(/\.zip$/);
    });

    it('retries until a 2xx', () => {
      expect(requests).toHaveLength(3);
    });

    it('records each attempt', () => {
      const statuses = delivery.attempts.map((attempt) => attempt.status);
      expect(statuses).toEqual([500, 500, 204]);
    });

    it('records why attempts failed', () => {
      expect(delivery.attempts[0]!.error).toBe('Answered 500');
      expect(delivery.attempts[2]!.error).toBeUndefined();
    });

    it('dates attempts in order', () => {
      const times = delivery.attempts.map((attempt) => Date.parse(attempt.at));
      expect(times.every((time) => Number.isFinite(time))).toBe(true);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('ends delivered', () => {
      expect(delivery.delivered).toBe(true);
    });

    it('keeps one webhook-id', () => {
      const ids = new Set(requests.map((request) => request.headers['webhook-id']));
      expect(ids.size).toBe(1);
      expect([...ids][0]).toMatch(/^msg_/);
    });
  });

  describe('a receiver that redirects', () => {
    const path = '/moved';
    const target = '/landing';
    let delivery: WebhookDelivery;

    beforeAll(async () => {
      receiver.respond(path, () => ({ status: 302, headers: { Location: receiver.url(target) } }));
      const exportId = await createWithCallback(service, [source], receiver.url(path));
      await waitForWebhookJob(service, exportId, 'failed');
      delivery = await waitForDelivery(service, exportId, (webhook) => webhook.attempts.length > 0);
    });

    it('is not followed', () => {
      expect(receiver.requests(target)).toHaveLength(0);
    });

    it('records the 302', () => {
      expect(delivery.attempts[0]!.status).toBe(302);
      expect(delivery.attempts[0]!.error).toBe('Answered 302');
    });

    it('stays undelivered', () => {
      expect(delivery.delivered).toBe(false);
    });

    it('retries up to WEBHOOK_ATTEMPTS', () => {
      expect(delivery.attempts).toHaveLength(attempts);
      expect(receiver.requests(path)).toHaveLength(attempts);
    });
  });

  describe('a failed export', () => {
    const path = '/failed';
    let event: WebhookEvent;

    beforeAll(async () => {
      await createWithCallback(service, absentIds, receiver.url(path));
      const [request] = await receiver.waitForRequests(path, 1);
      event = JSON.parse(request!.body) as WebhookEvent;
    });

    it('sends export.failed', () => {
      expect(event.type).toBe('export.failed');
    });

    it('carries the error', () => {
      expect(event.data.status).toBe('failed');
      expect(event.data.error?.code).toBe('all_files_missing');
    });
  });

  describe('a rejected host', () => {
    let response: Response;
    let error: ErrorBody;

    beforeAll(async () => {
      response = await postExport(service, [source], 'http://blocked.invalid/hook');
      error = await readError(response);
    });

    it('returns 400', () => {
      expect(response.status).toBe(400);
    });

    it('names callback_url', () => {
      expect(error.field).toBe('callback_url');
      expect(error.message).toContain('blocked.invalid is not in WEBHOOK_ALLOWED_HOSTS');
    });
  });

  // Last in this service, because it stops every source lookup of the worker at a gate.
  describe('a cancelled export', () => {
    const path = '/cancelled';
    let exportId: string;
    let cancelStatus: number;
    let event: WebhookEvent;
    let buildState: string;

    beforeAll(async () => {
      const lookups = holdCalls(service.services.deps.store, 'head');
      try {
        exportId = await createWithCallback(service, [source], receiver.url(path));
        await lookups.reached;
        const cancelled = await fetch(`${service.url}/v1/export/${exportId}`, { method: 'DELETE' });
        cancelStatus = cancelled.status;
        const [request] = await receiver.waitForRequests(path, 1);
        event = JSON.parse(request!.body) as WebhookEvent;
      } finally {
        lookups.release();
        lookups.restore();
      }
      // The build job goes on from the released lookup and must stop without a second webhook.
      buildState = await waitForJobEnd(service, exportId);
      await waitForJobEnd(service, `webhook-${exportId}`);
    });

    it('is cancelled', () => {
      expect(cancelStatus).toBe(200);
    });

    it('sends export.cancelled', () => {
      expect(event.type).toBe('export.cancelled');
      expect(event.data.status).toBe('cancelled');
    });

    it('sends one webhook', async () => {
      expect(buildState).not.toBe('active');
      const snapshot = await getSnapshot(service.url, `/v1/export/${exportId}`);
      expect(snapshot.status).toBe('cancelled');
      expect(receiver.requests(path)).toHaveLength(1);
    });
  });
});

describe('webhooks with private addresses disallowed', () => {
  let service: RunningService;

  beforeAll(async () => {
    service = await startService({
      testServices,
      env: {
        ...generousLimits,
        WEBHOOK_ALLOWED_HOSTS: '127.0.0.1,localhost',
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false',
        WEBHOOK_SECRET: secret,
        WEBHOOK_ATTEMPTS: String(attempts),
      },
    });
    await service.putSource(source, randomBytes(2_000), 'report.txt');
  });

  afterAll(async () => {
    await service?.stop();
  });

  describe('a loopback IP literal', () => {
    const path = '/literal';
    let response: Response;
    let error: ErrorBody;

    beforeAll(async () => {
      response = await postExport(service, [source], receiver.url(path));
      error = await readError(response);
    });

    it('returns 400', () => {
      expect(response.status).toBe(400);
    });

    it('names the address', () => {
      expect(error.field).toBe('callback_url');
      expect(error.message).toContain('127.0.0.1 is a private or loopback address');
    });

    it('never reaches the receiver', () => {
      expect(receiver.requests(path)).toHaveLength(0);
    });
  });

  describe('a name that resolves to loopback', () => {
    const path = '/by-name';
    let exportId: string;
    let attemptsMade: number;
    let delivery: WebhookDelivery;

    beforeAll(async () => {
      const callbackUrl = `http://localhost:${receiver.port}${path}`;
      exportId = await createWithCallback(service, [source], callbackUrl);
      attemptsMade = await waitForWebhookJob(service, exportId, 'failed');
      delivery = await waitForDelivery(service, exportId, (webhook) => webhook.attempts.length > 0);
    });

    it('never reaches the receiver', () => {
      expect(receiver.requests(path)).toHaveLength(0);
    });

    it('records the refusal', () => {
      expect(delivery.attempts[0]!.error).toContain('127.0.0.1 is a private or loopback address');
      expect(delivery.attempts[0]!.status).toBeUndefined();
    });

    it('stays undelivered', () => {
      expect(delivery.delivered).toBe(false);
    });

    it('is not retried', () => {
      expect(attemptsMade).toBe(1);
      expect(delivery.attempts).toHaveLength(1);
    });
  });
});

describe('IPv6 loopback literals', () => {
  // No worker, so an export accepted by mistake never ends and no webhook is sent.
  let service: RunningService;

  beforeAll(async () => {
    service = await startService({
      testServices,
      worker: false,
      env: {
        ...generousLimits,
        WEBHOOK_ALLOWED_HOSTS: '::1,::ffff:7f00:1',
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false',
        WEBHOOK_SECRET: secret,
      },
    });
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('rejects [::1]', async () => {
    const response = await postExport(service, [source], `http://[::1]:${receiver.port}/v6`);
    await response.arrayBuffer();
    expect(response.status).toBe(400);
  });

  it('rejects IPv4-mapped [::ffff:127.0.0.1]', async () => {
    const url = `http://[::ffff:127.0.0.1]:${receiver.port}/mapped`;
    const response = await postExport(service, [source], url);
    await response.arrayBuffer();
    expect(response.status).toBe(400);
  });
});

function postExport(
  service: RunningService,
  fileIds: number[],
  callbackUrl: string,
): Promise<Response> {
  return fetch(`${service.url}/v1/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ file_ids: fileIds, join: false, callback_url: callbackUrl }),
  });
}

/** Creates an export that names `callbackUrl` and returns its id. Throws unless it gets a 202. */
async function createWithCallback(
  service: RunningService,
  fileIds: number[],
  callbackUrl: string,
): Promise<string> {
  const response = await postExport(service, fileIds, callbackUrl);
  const text = await response.text();
  if (response.status !== 202) {
    throw new Error(`POST /v1/export returned ${response.status}, expected 202: ${text}`);
  }

  return (JSON.parse(text) as { jobId: string }).jobId;
}

/** Polls the snapshot until its `webhook` field passes `done`, and returns that field. */
function waitForDelivery(
  service: RunningService,
  exportId: string,
  done: (webhook: WebhookDelivery) => boolean,
): Promise<WebhookDelivery> {
  return waitFor(
    async () => {
      const { webhook } = await getSnapshot(service.url, `/v1/export/${exportId}`);
      return webhook && done(webhook) ? webhook : undefined;
    },
    { description: `the webhook of export ${exportId}` },
  );
}

/** Waits until the export's `deliver-webhook` job is in `state`, and returns its attempts made. */
function waitForWebhookJob(
  service: RunningService,
  exportId: string,
  state: 'failed',
): Promise<number> {
  const queue = service.services.bullQueue.queue;

  return waitFor(
    async () => {
      const jobId = `webhook-${exportId}`;
      // The state first: a job read before it ends can carry an older attemptsMade.
      if ((await queue.getJobState(jobId)) !== state) return undefined;
      return (await queue.getJob(jobId))?.attemptsMade;
    },
    { description: `the webhook job of export ${exportId} to be ${state}` },
  );
}

/** Waits until the BullMQ job `jobId` is no longer waiting or active, and returns its state. */
function waitForJobEnd(service: RunningService, jobId: string): Promise<string> {
  const queue = service.services.bullQueue.queue;

  return waitFor(
    async () => {
      const state = await queue.getJobState(jobId);
      return ['waiting', 'active', 'delayed', 'prioritized'].includes(state) ? undefined : state;
    },
    { description: `job ${jobId} to end` },
  );
}
