/**
 * An OTLP/HTTP endpoint that accepts trace exports and drops them, so that "tracing on" costs
 * what it costs in production: spans are made, batched and sent over HTTP.
 */
import { once } from 'node:events';
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

/** A running sink and how many export requests it received. */
export interface OtlpSink {
  endpoint: string;
  requests(): number;
  /**
   * Resolves once no export has arrived for `quietMs`, or after 5 × `quietMs`. The batch span processor of a traced
   * process sends its spans up to 5 s after they end (its default schedule), so a baseline that
   * starts at once would share the cores with the service's span exports.
   */
  quiet(quietMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let lastRequestAt = 0;
  const server = http.createServer((request, response) => {
    lastRequestAt = Date.now();
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
    quiet: async (quietMs = 6_000) => {
      // A worker's idle polling of Redis makes spans too, so the wait has a cap.
      const giveUpAt = Date.now() + 5 * quietMs;
      while (Date.now() - lastRequestAt < quietMs && Date.now() < giveUpAt) {
        await delay(Math.min(quietMs - (Date.now() - lastRequestAt), giveUpAt - Date.now()));
      }
    },
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
