/**
 * A webhook receiver for integration tests: an HTTP server on 127.0.0.1 that records every
 * request and responds on each path as the test sets, with 204 by default.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { waitFor } from './api.js';

/** A request that the receiver received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  /** Headers by lower-case name, as Node.js parses them. */
  headers: Record<string, string>;
  body: string;
}

/** The status and headers of one response. */
export interface ReceiverResponse {
  status: number;
  headers?: Record<string, string>;
}

/** Chooses the response to the request that is number `index` (from 0) on its path. */
export type ResponseRule = (index: number) => ReceiverResponse;

/** A running receiver. */
export interface WebhookReceiver {
  /** Returns `http://127.0.0.1:<port><path>`. */
  url(path: string): string;
  port: number;
  /** Makes `path` respond as `rule` chooses, from its next request on. */
  respond(path: string, rule: ResponseRule): void;
  /** Returns the requests received on `path` so far, oldest first. */
  requests(path: string): ReceivedRequest[];
  /** Resolves with the requests on `path` once there are at least `count` of them. */
  waitForRequests(path: string, count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** Starts a receiver on a free port of 127.0.0.1. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const rules = new Map<string, ResponseRule>();

  const server = createServer((request, response) => {
    void readRequest(request).then((entry) => {
      const index = received.filter((other) => other.path === entry.path).length;
      received.push(entry);

      const rule = rules.get(entry.path);
      const chosen = rule ? rule(index) : { status: 204 };
      response.writeHead(chosen.status, chosen.headers ?? {});
      response.end();
    });
  });
  await listen(server);

  const { port } = server.address() as AddressInfo;
  const requests = (path: string) => received.filter((entry) => entry.path === path);

  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    respond: (path, rule) => void rules.set(path, rule),
    requests,
    waitForRequests: (path, count, timeoutMs = 20_000) =>
      waitFor(() => (requests(path).length >= count ? requests(path) : undefined), {
        timeoutMs,
        description: `${count} request(s) on ${path}`,
      }),
    close: () => close(server),
  };
}

async function readRequest(request: IncomingMessage): Promise<ReceivedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }

  return {
    method: request.method ?? '',
    path: request.url ?? '',
    headers,
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();

  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
  });
}
