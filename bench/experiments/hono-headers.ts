/**
 * Measures what the security and CORS headers cost bare Hono's status route, alternating three
 * servers over 3 rounds of 5 s with 50 connections: no headers, Hono's secureHeaders and cors,
 * and the API's own `responseHeaders`. Hono's two set the headers on `c.res.headers`, which
 * makes @hono/node-server build a full undici Response for every request.
 * Usage: npx tsx bench/experiments/hono-headers.ts
 */
import { type Child, findFreePort, spawnNode } from '../lib/child.js';
import { loadInTurn } from '../lib/load.js';
import { loadNow, median } from '../lib/report.js';

const modes = ['none', 'hono', 'service'] as const;

async function startServer(mode: string): Promise<{ url: string; child: Child }> {
  const port = await findFreePort();
  const env = { PORT: String(port), HEADER_MIDDLEWARE: mode };
  const child = spawnNode('bench/servers/bare-hono.ts', [], { env });
  await child.waitForLine((line) => line === 'listening', '"listening"');

  return { url: `http://127.0.0.1:${port}/v1/export/job-1`, child };
}

const servers = await Promise.all(modes.map((mode) => startServer(mode)));
let rates: number[][];
try {
  rates = await loadInTurn(servers.map((server) => server.url));
} finally {
  await Promise.all(servers.map((server) => server.child.stop()));
}

const baseline = median(rates[0]!);
for (const [index, mode] of modes.entries()) {
  const runs = rates[index]!.map(Math.round).join(', ');
  const ratio = median(rates[index]!) / baseline;
  console.log(`${mode.padEnd(8)} ${runs} req/s, ratio of medians ${ratio.toFixed(2)}`);
}
console.log(`1-minute load average at the end: ${loadNow().toFixed(1)}`);
