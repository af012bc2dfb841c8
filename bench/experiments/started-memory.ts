/**
 * Prints the RSS of a freshly started worker with tracing off and on, three starts each in
 * turn, one second after its `/health` first responded. It builds no export, so it shows only
 * what loading the code and the OpenTelemetry SDK costs.
 * Usage: npx tsx bench/experiments/started-memory.ts
 */
import { MiB } from '../lib/sources.js';
import { startStack, startWorker } from '../lib/stack.js';

const rounds = 3;

const stack = await startStack('started-memory');
try {
  for (let round = 0; round < rounds; round++) {
    for (const tracing of [false, true]) {
      const worker = await startWorker(stack, { tracing, env: {} });
      // Lets the start-up's short-lived allocations settle, as they do before the first job.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const rssMiB = (await worker.rssBytes()) / MiB;
      await worker.stop();
      console.log(`tracing ${tracing ? 'on ' : 'off'}: started ${rssMiB.toFixed(1)} MiB`);
    }
  }
} finally {
  await stack.stop();
}
