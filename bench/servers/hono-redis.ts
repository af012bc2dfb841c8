/**
 * Bare Hono whose status route makes `ROUND_TRIPS` Redis round trips in turn, each an HGET of a
 * stored record, and returns the record: the least a status route that reads Redis can do. For
 * bench/experiments/hono-redis.ts. Prints `listening` once up.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT);
const roundTrips = Number(process.env.ROUND_TRIPS);
const redis = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: 1 });
const app = new Hono();

app.get('/v1/export/:id', async (c) => {
  let data: string | null = null;
  for (let trip = 0; trip < roundTrips; trip++) data = await redis.hget('record', 'data');

  return c.json(data ? (JSON.parse(data) as object) : { jobId: c.req.param('id') });
});

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => {
  process.stdout.write('listening\n');
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
