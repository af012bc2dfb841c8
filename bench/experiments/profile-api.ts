/**
 * Profiles the API under one kind of request: 10 s of autocannon with 50 connections against
 * a fresh API started with `node --cpu-prof`, which writes its profile to
 * `.local/bench/profiles/api-<kind>-tracing-<on|off>/` when it stops.
 * Usage: npx tsx bench/experiments/profile-api.ts status|create on|off
 */
import path from 'node:path';

import { createExport } from '../lib/exports.js';
import { runLoad } from '../lib/load.js';
import { loadNow } from '../lib/report.js';
import { benchDir, startApi, startStack } from '../lib/stack.js';

const [kind, tracingArgument] = process.argv.slice(2);
if (
  (kind !== 'status' && kind !== 'create') ||
  (tracingArgument !== 'on' && tracingArgument !== 'off')
) {
  console.error('Usage: npx tsx bench/experiments/profile-api.ts status|create on|off');
  process.exit(2);
}

const profileDir = path.join(benchDir, 'profiles', `api-${kind}-tracing-${tracingArgument}`);
const stack = await startStack('profile-api');
try {
  const api = await startApi(stack, {
    tracing: tracingArgument === 'on',
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  });
  const body = JSON.stringify({ file_ids: [70000, 70001, 70002], join: false });
  const load =
    kind === 'status'
      ? { url: `${api.url}/v1/export/${await createExport(api.url, [70000])}` }
      : {
          url: `${api.url}/v1/export`,
          method: 'POST' as const,
          body,
          headers: { 'Content-Type': 'application/json' },
        };

  const result = await runLoad({ ...load, connections: 50, durationSeconds: 10 });
  console.log(
    `${kind}, tracing ${tracingArgument}: ${result.requestsPerSecond.toFixed(0)} requests/s, load ${loadNow().toFixed(1)}`,
  );
  await api.child.stop();
  console.log(`Profile written to ${profileDir}`);
} finally {
  await stack.stop();
}
process.exit(0);
