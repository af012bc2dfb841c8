/**
 * A small HTTP server on 127.0.0.1 for the CLI's tests, with routes by exact path and a record
 * of every request. Tests use it in place of the export API, the S3 download URL or both.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';

/** A request as the server received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  lastEventId: string | undefined;
}

/** Handles one request. `index` counts the earlier requests to the same path. */
export type Route = (request: IncomingMessage, response: ServerResponse, index: number) => void;

/** A listening test server. */
export interface TestServer {
  baseUrl: string;
  requests: RecordedRequest[];
  /** Closes the server and every open connection, SSE streams included. */
  close(): void;
}

/** Starts a server on a free loopback port that returns 404 for paths without a route. */
export async function startTestServer(routes: Record<string, Route>): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const counts = new Map<string, number>();

  const server = createServer((request, response) => {
    const path = request.url ?? '';
    const header = request.headers['last-event-id'];
    const lastEventId = typeof header === 'string' ? header : undefined;
    requests.push({ method: request.method ?? '', path, lastEventId });

    const index = counts.get(path) ?? 0;
    counts.set(path, index + 1);

    const route = routes[path];
    if (route) route(request, response, index);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const { port } = server.address() as AddressInfo;
  const close = () => {
    server.closeAllConnections();
    server.close();
  };

  return { baseUrl: `http://127.0.0.1:${port}`, requests, close };
}

/** Sends the headers of a Server-Sent Events response. */
export function openEventStream(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

/** Formats one SSE frame with the snapshot's version as its id. */
export function sseFrame(event: string, body: ExportSnapshot): string {
  return `id: ${body.version}\nevent: ${event}\ndata: ${JSON.stringify(body)}\n\n`;
}

/** Sends `body` as a JSON response. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
