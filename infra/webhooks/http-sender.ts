/**
 * The WebhookSender port over node:http and node:https. The DNS lookup that opens the socket
 * checks every resolved address against the policy, so the address checked is the address
 * connected to. Redirects are not followed: node:http never follows them.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

import { Webhook } from 'standardwebhooks';

import type { WebhookResponse, WebhookSender, WebhookSigner } from '../../functions/lib/ports.js';
import type { AddressPolicy } from './address-policy.js';

/** A slow receiver must not hold a worker. */
const timeoutMs = 10_000;

export class HttpWebhookSender implements WebhookSender {
  constructor(private readonly policy: AddressPolicy) {}

  check(url: string): void {
    this.policy.checkUrl(url);
  }

  post(url: string, body: string, headers: Record<string, string>): Promise<WebhookResponse> {
    const target = this.policy.checkUrl(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;

    return new Promise((resolve, reject) => {
      const request = send(target, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
        lookup: this.checkedLookup(),
        timeout: timeoutMs,
      });
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
      });
      request.on('timeout', () => request.destroy(new Error(`No response within ${timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }

  private checkedLookup(): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, '', 0);

        const list = addresses as LookupAddress[];
        try {
          for (const entry of list) this.policy.checkAddress(entry.address);
        } catch (refused) {
          return callback(refused as NodeJS.ErrnoException, '', 0);
        }
        if (options.all) return callback(null, list as never);

        const first = list[0]!;
        return callback(null, first.address, first.family);
      });
    };
  }
}

/** Signs payloads with a Standard Webhooks secret (`whsec_` and base64). */
export class StandardWebhookSigner implements WebhookSigner {
  private readonly webhook: Webhook;

  constructor(secret: string) {
    this.webhook = new Webhook(secret);
  }

  sign(messageId: string, timestamp: Date, payload: string): string {
    return this.webhook.sign(messageId, timestamp, payload);
  }
}
