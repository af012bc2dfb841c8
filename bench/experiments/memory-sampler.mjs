/**
 * Preload for a benchmark child: samples `process.memoryUsage()` every 100 ms and prints the
 * maximum of each field, in MiB, as one `memory {...}` line on stdout every second. Load it
 * with `--import ./bench/experiments/memory-sampler.mjs`; bench/experiments/export-memory.ts
 * does so for the worker.
 */
const MiB = 1024 * 1024;
const fields = ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'];
const peaks = Object.fromEntries(fields.map((field) => [field, 0]));

function sample() {
  const usage = process.memoryUsage();
  for (const field of fields) peaks[field] = Math.max(peaks[field], usage[field]);
}

function report() {
  const inMiB = Object.fromEntries(fields.map((field) => [field, Math.round(peaks[field] / MiB)]));
  process.stdout.write(`memory ${JSON.stringify(inMiB)}\n`);
}

// unref: the sampler must not keep a stopping process alive.
setInterval(sample, 100).unref();
setInterval(report, 1_000).unref();
