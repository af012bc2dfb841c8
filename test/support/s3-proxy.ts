/**
 * A recording HTTP proxy in front of the S3 emulator, on a free loopback port. It forwards each
 * request with its headers unchanged, Host included, so SigV4 signatures made for the proxy's
 * address still verify at the emulator. A test can make it respond to chosen requests itself,
 * for example with a 503, instead of forwarding them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that reached the proxy, and the status of its response. */
export interface ProxiedRequest {
  method: string;
  /** The path without the query, such as `/exports/exports/<id>.zip`. */
  path: string;
  query: URLSearchParams;
  status: number;
  /** True when the proxy sent the response itself instead of forwarding the request. */
  injected: boolean;
}

/** The request fields that `S3ProxyOptions.inject` receives. */
export type RequestLine = Pick<ProxiedRequest, 'method' | 'path' | 'query'>;

/** Options of `startS3Proxy`. */
export interface S3ProxyOptions {
  /** The emulator's endpoint, such as `http://127.0.0.1:4568`. */
  target: string;
  /** Returns a status for the proxy to respond with, or undefined to forward the request. */
  inject?: (request: RequestLine) => number | undefined;
}

/** A running proxy. */
export interface S3Proxy {
  /** `http://127.0.0.1:<port>`, to use as S3_ENDPOINT. */
  endpoint: string;
  /** Every request so far, in the order their responses started. */
  requests: ProxiedRequest[];
  stop(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 and resolves once it listens. */
export async function startS3Proxy(options: S3ProxyOptions): Promise<S3Proxy> {
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];

  const server = http.createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const line = { method: incoming.method ?? 'GET', path: url.pathname, query: url.searchParams };
    const injected = options.inject?.(line);

    if (injected !== undefined) {
      requests.push({ ...line, status: injected, injected: true });
      answerWithError(incoming, outgoing, injected);
      return;
    }

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
        requests.push({ ...line, status: response.statusCode ?? 0, injected: false });
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
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

  return { endpoint: `http://127.0.0.1:${port}`, requests, stop };
}

/** Responds as S3 does when it is overloaded, after draining any request body. */
function answerWithError(
  incoming: http.IncomingMessage,
  outgoing: http.ServerResponse,
  status: number,
): void {
  const code = status === 503 ? 'SlowDown' : 'InternalError';
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>Injected by the test proxy</Message></Error>`;

  incoming.resume();
  incoming.on('end', () => {
    outgoing.writeHead(status, { 'Content-Type': 'application/xml' });
    outgoing.end(body);
  });
}
