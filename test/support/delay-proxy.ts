/**
 * An HTTP proxy on a free loopback port that delays chosen responses before it forwards them,
 * so that an export running in a child process takes as long as a test needs. It forwards
 * headers unchanged, Host included, so SigV4 signatures made for the proxy's address still
 * verify behind it. It can sit in front of the S3 emulator or of the recording proxy of
 * `s3-proxy.ts`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

import type { RequestLine } from './s3-proxy.js';

/** Options of `startDelayProxy`. */
export interface DelayProxyOptions {
  /** The address to forward to, such as `http://127.0.0.1:4568`. */
  target: string;
  /** Returns how many milliseconds to hold the response to `request`; 0 forwards it at once. */
  delayMs: (request: RequestLine) => number;
}

/** A running delay proxy. */
export interface DelayProxy {
  /** `http://127.0.0.1:<port>`, to use as S3_ENDPOINT. */
  endpoint: string;
  stop(): Promise<void>;
}

/** Returns a `delayMs` that delays each UploadPart response by `ms` and nothing else. */
export function delayUploadParts(ms: number): (request: RequestLine) => number {
  return ({ method, query }) => (method === 'PUT' && query.has('partNumber') ? ms : 0);
}

/**
 * Starts the proxy on 127.0.0.1. When the upstream connection fails, such as one to a stopped
 * emulator, the proxy closes the client's connection, which the AWS SDK reports as a network
 * error.
 */
export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const line = { method: incoming.method ?? 'GET', path: url.pathname, query: url.searchParams };
    const holdMs = options.delayMs(line);

    const forwarded = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response) => {
        const timer = setTimeout(() => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          // pipeline, unlike pipe, closes the client's connection when the upstream one breaks
          // mid-body, as a client of the stopped server itself would see it.
          pipeline(response, outgoing, () => undefined);
        }, holdMs);
        outgoing.on('close', () => clearTimeout(timer));
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) forwarded.destroy();
    });
    incoming.pipe(forwarded);
  });

  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;

  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    agent.destroy();
    await closed;
  };

  return { endpoint: `http://127.0.0.1:${port}`, stop };
}
