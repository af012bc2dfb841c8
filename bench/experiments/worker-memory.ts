/**
 * Splits the worker's peak RSS into its parts. For tracing on and off, and for an upload budget
 * of 64 MiB (the default) and 16 MiB, it prints the worker's RSS once started and its peak
 * after one 1 GiB export (10 x 100 MiB). Last it prints the RSS of an empty program under
 * `node --import tsx`. Usage: npx tsx bench/experiments/worker-memory.ts
 */
import { spawnNode } from '../lib/child.js';
import { createExport, watchRecords } from '../lib/exports.js';
import { ensureSources, fileIdsOf, large, MiB } from '../lib/sources.js';
import { startApi, startStack, startWorker } from '../lib/stack.js';

const settings = [
  { tracing: true, budget: '64' },
  { tracing: true, budget: '16' },
  { tracing: false, budget: '64' },
  { tracing: false, budget: '16' },
];

const stack = await startStack('worker-memory');
try {
  await ensureSources(stack, large);
  const api = await startApi(stack, { tracing: false });
  const watcher = await watchRecords(stack);

  for (const { tracing, budget } of settings) {
    const worker = await startWorker(stack, { tracing, env: { UPLOAD_MEMORY_BUDGET_MIB: budget } });
    const startedMiB = (await worker.rssBytes()) / MiB;
    await watcher.completed(await createExport(api.url, fileIdsOf(large)), 600_000);
    const peakMiB = (await worker.peakRssBytes()) / MiB;
    await worker.stop();
    console.log(
      `tracing ${tracing ? 'on ' : 'off'}, budget ${budget} MiB: ` +
        `started ${startedMiB.toFixed(0)} MiB, peak ${peakMiB.toFixed(0)} MiB`,
    );
  }

  watcher.close();
  await api.child.stop();

  const empty = spawnNode('bench/experiments/idle.ts', [], { env: {} });
  await empty.waitForLine((line) => line === 'idle', '"idle"');
  console.log(`empty program under tsx: ${((await empty.rssBytes()) / MiB).toFixed(0)} MiB`);
  await empty.stop();
} finally {
  await stack.stop();
}
process.exit(0);
