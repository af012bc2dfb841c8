/**
 * Prints where a worker's memory goes during one 1 GiB export (10 x 100 MiB): the RSS once
 * started, the peak RSS (VmHWM), and the peaks of `process.memoryUsage()` fields that
 * bench/experiments/memory-sampler.mjs records inside the worker. Tracing is on, as in the
 * memory benchmark. Extra arguments are Node flags for the worker, and settings come from
 * UPLOAD_MEMORY_BUDGET_MIB in this process's environment (default 64).
 * Usage: npx tsx bench/experiments/export-memory.ts [--max-semi-space-size=4 ...]
 */
import { createExport, watchRecords } from '../lib/exports.js';
import { startOtlpSink } from '../lib/otlp-sink.js';
import { ensureSources, fileIdsOf, large, MiB } from '../lib/sources.js';
import { startApi, startStack, startWorker } from '../lib/stack.js';

const budget = process.env.UPLOAD_MEMORY_BUDGET_MIB ?? '64';
const nodeFlags = ['--import', './bench/experiments/memory-sampler.mjs', ...process.argv.slice(2)];

const stack = await startStack('export-memory');
const sink = await startOtlpSink();
try {
  await ensureSources(stack, large);
  const api = await startApi(stack, { tracing: false });
  const watcher = await watchRecords(stack);
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, UPLOAD_MEMORY_BUDGET_MIB: budget };

  const worker = await startWorker(stack, { tracing: true, env, nodeFlags });
  const startedMiB = (await worker.rssBytes()) / MiB;
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const startPeaks = lastSample(worker.outputTail());
  const startedAt = Date.now();
  await watcher.completed(await createExport(api.url, fileIdsOf(large)), 600_000);
  const seconds = (Date.now() - startedAt) / 1000;
  const peakMiB = (await worker.peakRssBytes()) / MiB;
  // The sampler prints every second; its last line carries the peaks of the whole export.
  await new Promise((resolve) => setTimeout(resolve, 1_100));

  console.log(
    `budget ${budget} MiB, flags [${process.argv.slice(2).join(' ')}]: started ` +
      `${startedMiB.toFixed(0)} MiB, peak ${peakMiB.toFixed(0)} MiB, ${seconds.toFixed(0)} s`,
  );
  console.log(`sampled peaks before the export (MiB): ${startPeaks}`);
  console.log(`sampled peaks after the export (MiB): ${lastSample(worker.outputTail())}`);
  await worker.stop();
  watcher.close();
  await api.child.stop();
} finally {
  await sink.stop();
  await stack.stop();
}
process.exit(0);

function lastSample(output: string): string {
  const lines = output.split('\n').filter((line) => line.startsWith('memory '));

  return lines.at(-1)?.slice('memory '.length) ?? 'none';
}
