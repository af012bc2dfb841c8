/**
 * An OTLP/HTTP endpoint that accepts trace exports and drops them, so that "tracing on" costs
 * what it costs in production: spans are made, batched and sent over HTTP.
 */
import { once } from 'node:events';
import http from 'node:http';

/** A running sink and how many export requests it received. */
export interface OtlpSink {
  endpoint: string;
  requests(): number;
  stop(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url === '/v1/traces') requests += 1;
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('The OTLP sink has no port');

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests: () => requests,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
