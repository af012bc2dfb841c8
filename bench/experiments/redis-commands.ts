/**
 * Lists the Redis commands that one create-export request, one status request and one
 * one-file export send, with MONITOR on the benchmark's own redis-server. Tracing is off, so
 * only the service's own commands appear. Usage: npx tsx bench/experiments/redis-commands.ts
 */
import { Redis } from 'ioredis';

import { delay } from '../lib/child.js';
import { createExport, watchRecords } from '../lib/exports.js';
import { ensureSources, tiny } from '../lib/sources.js';
import { startApi, startStack, startWorker } from '../lib/stack.js';

const stack = await startStack('redis-commands');
try {
  await ensureSources(stack, tiny);
  const api = await startApi(stack, { tracing: false });
  const worker = await startWorker(stack, { tracing: false });
  const watcher = await watchRecords(stack);
  // One export first, so that scripts are loaded and connections open before MONITOR starts.
  const first = await createExport(api.url, [tiny.firstId]);
  await watcher.completed(first, 60_000);

  const monitor = await new Redis(stack.redisUrl).monitor();
  const commands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    commands.push(
      `${source.padEnd(22)} ${args
        .slice(0, 2)
        .map((arg) => arg.slice(0, 60).replace(/\n/g, ' '))
        .join(' ')}`,
    );
  });
  await delay(200);

  const print = (title: string) => {
    console.log(`--- ${title}: ${commands.length} commands`);
    console.log(commands.splice(0).join('\n'));
  };
  await fetch(`${api.url}/v1/export/${first}`).then((response) => response.text());
  await delay(300);
  print('GET /v1/export/:id');

  const second = await createExport(api.url, [tiny.firstId + 1]);
  await watcher.completed(second, 60_000);
  await delay(500);
  print('POST /v1/export and the build of its one-file export');

  monitor.disconnect();
  watcher.close();
  await worker.stop();
  await api.child.stop();
} finally {
  await stack.stop();
}
process.exit(0);
