/**
 * Prints the RSS of a freshly started worker with tracing off and on, run as compiled
 * JavaScript and through tsx, three starts each in turn, one second after its `/health` first
 * responded. It builds no export, so it shows only
 * what loading the code and the OpenTelemetry SDK costs.
 * Usage: npx tsx bench/experiments/started-memory.ts
 */
import { MiB } from '../lib/sources.js';
import { startStack, startWorker } from '../lib/stack.js';

const rounds = 3;
/** Tracing, then whether the worker runs through tsx. */
const settings: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

const stack = await startStack('started-memory');
try {
  for (let round = 0; round < rounds; round++) {
    for (const [tracing, viaTsx] of settings) {
      const worker = await startWorker(stack, { tracing, viaTsx, env: {} });
      // Lets the start-up's short-lived allocations settle, as they do before the first job.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const rssMiB = (await worker.rssBytes()) / MiB;
      await worker.stop();
      const runner = viaTsx ? 'tsx     ' : 'compiled';
      console.log(
        `${runner}, tracing ${tracing ? 'on ' : 'off'}: started ${rssMiB.toFixed(1)} MiB`,
      );
    }
  }
} finally {
  await stack.stop();
}
