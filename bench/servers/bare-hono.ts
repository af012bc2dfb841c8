/**
 * The baseline HTTP server: bare Hono on @hono/node-server with the two routes that the API
 * benchmark calls, and no middleware, Redis or validation. Prints `listening` once up.
 * `HEADER_MIDDLEWARE` adds the security and CORS headers for bench/experiments/hono-headers.ts:
 * `hono` through Hono's secureHeaders and cors, `service` through the API's own middleware.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';

import { responseHeaders } from '../../runtime/hosts/http/response-headers.js';

const port = Number(process.env.PORT);
const app = new Hono();
const jobId = '6f0b7a52-1d9e-4c8f-9a57-3c1e2f4d5b6a';
const exposedHeaders = ['Location', 'X-Request-ID', 'Retry-After', 'RateLimit-Limit'];

// Only bench/experiments/hono-headers.ts sets this.
if (process.env.HEADER_MIDDLEWARE === 'hono') {
  app.use(secureHeaders());
  app.use(cors({ origin: '*', exposeHeaders: exposedHeaders, maxAge: 600 }));
} else if (process.env.HEADER_MIDDLEWARE === 'service') {
  app.use(responseHeaders(exposedHeaders));
}

// The same JSON shape as the API's 202, so both send bodies of about the same size.
app.post('/v1/export', async (c) => {
  const body = (await c.req.json()) as { file_ids: number[] };
  return c.json(
    {
      jobId,
      status: 'queued',
      totalFileIds: body.file_ids.length,
      statusUrl: `/v1/export/${jobId}`,
      progressUrl: `/v1/export/${jobId}/progress`,
    },
    202,
  );
});

app.get('/v1/export/:id', (c) =>
  c.json({
    jobId: c.req.param('id'),
    status: 'queued',
    attempt: 1,
    maxAttempts: 3,
    progress: { percent: 0, filesDone: 0, filesTotal: 1, bytesDone: 0, bytesTotal: 0 },
    missingFileIds: [],
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    version: 1,
  }),
);

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => {
  process.stdout.write('listening\n');
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
