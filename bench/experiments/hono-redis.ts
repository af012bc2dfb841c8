/**
 * Measures what Redis round trips alone cost a Hono status route. Bare Hono responds from
 * memory, then with 1 and with 2 HGETs in turn against a private redis-server. The API's status
 * route makes 2 round trips, the rate-limit script and then the record read. The script
 * alternates the three servers over 3 rounds of 5 s with 50 connections and prints each
 * median's ratio to the first.
 * Usage: npx tsx bench/experiments/hono-redis.ts
 */
import path from 'node:path';

import { Redis } from 'ioredis';

import { startRedisServer } from '../../infra/local/redis-server.js';
import { type Child, findFreePort, spawnNode } from '../lib/child.js';
import { loadInTurn } from '../lib/load.js';
import { loadNow, median } from '../lib/report.js';
import { benchDir } from '../lib/stack.js';

const roundTrips = [0, 1, 2];

async function startServer(trips: number, redisUrl: string) {
  const port = await findFreePort();
  const env = { PORT: String(port), ROUND_TRIPS: String(trips), REDIS_URL: redisUrl };
  const child: Child = spawnNode('bench/servers/hono-redis.ts', [], { env });
  await child.waitForLine((line) => line === 'listening', '"listening"');

  return { url: `http://127.0.0.1:${port}/v1/export/job-1`, child };
}

const redisServer = await startRedisServer({ dir: path.join(benchDir, 'redis', 'hono-redis') });
const redis = new Redis(redisServer.url);
const record = { jobId: 'job-1', status: 'queued', attempt: 1, maxAttempts: 3, version: 1 };
await redis.hset('record', 'data', JSON.stringify(record));

const servers = await Promise.all(roundTrips.map((trips) => startServer(trips, redisServer.url)));
let rates: number[][];
try {
  rates = await loadInTurn(servers.map((server) => server.url));
} finally {
  await Promise.all(servers.map((server) => server.child.stop()));
  redis.disconnect();
  await redisServer.stop();
}

const baseline = median(rates[0]!);
for (const [index, trips] of roundTrips.entries()) {
  const runs = rates[index]!.map(Math.round).join(', ');
  const ratio = median(rates[index]!) / baseline;
  console.log(`${trips} round trips: ${runs} req/s, ratio of medians ${ratio.toFixed(2)}`);
}
console.log(`1-minute load average at the end: ${loadNow().toFixed(1)}`);
