/**
 * Runs the benchmarks: `npm run bench` runs them all, `npm run bench -- NAME...` the named
 * ones. Each prints, for each figure, the service's median, the baseline's median from the same
 * run, their ratio and the target, and saves the figures as JSON under `.local/bench/results/`.
 *
 * Flags:
 * - `--quick` runs fewer configurations or rounds where a benchmark has several.
 * - `--profile` starts the measured service process with `node --cpu-prof`, which writes its
 *   profile to `.local/bench/profiles/`.
 */
import os from 'node:os';
import path from 'node:path';

import { runE2eBenchmark } from './e2e.js';
import { runHttpBenchmark } from './http.js';
import { runMemoryBenchmark } from './memory.js';
import { type Figure, formatFigure, saveFigures, summarize } from './lib/report.js';
import { benchDir } from './lib/stack.js';
import { runSseIdleBenchmark } from './sse-idle.js';
import { runSseLatencyBenchmark } from './sse-latency.js';
import { runZipBenchmark } from './zip.js';

/** Settings every benchmark receives from the command line. */
export interface BenchmarkOptions {
  quick: boolean;
  /** Node flags for the process a benchmark profiles: `--cpu-prof` and its folder, or none. */
  profileFlags: string[];
}

const knownFlags = ['--quick', '--profile'];

const benchmarks: Record<string, (options: BenchmarkOptions) => Promise<Figure[]>> = {
  http: runHttpBenchmark,
  zip: runZipBenchmark,
  memory: runMemoryBenchmark,
  'sse-latency': runSseLatencyBenchmark,
  'sse-idle': runSseIdleBenchmark,
  e2e: runE2eBenchmark,
};

const args = process.argv.slice(2);
const flags = new Set(args.filter((arg) => arg.startsWith('--')));
const names = args.filter((arg) => !arg.startsWith('--'));
const unknown = [
  ...names.filter((name) => !(name in benchmarks)),
  ...[...flags].filter((flag) => !knownFlags.includes(flag)),
];
if (unknown.length > 0) {
  process.stderr.write(
    `Unknown benchmark or flag: ${unknown.join(', ')}. ` +
      `Usage: npm run bench -- [--quick] [--profile] [${Object.keys(benchmarks).join(' | ')}]...\n`,
  );
  process.exit(2);
}

// Children are stopped by the 'exit' handlers of bench/lib, which a signal would skip.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const options: BenchmarkOptions = {
  quick: flags.has('--quick'),
  profileFlags: flags.has('--profile')
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(benchDir, 'profiles')}`]
    : [],
};
const chosen = names.length > 0 ? names : Object.keys(benchmarks);
process.stdout.write(`${describeMachine()}\n`);
process.stdout.write('\n');

let missed = 0;
for (const name of chosen) {
  const startedAt = Date.now();
  process.stdout.write(`== ${name}\n`);
  const figures = await benchmarks[name]!(options);
  for (const figure of figures) {
    process.stdout.write(`${formatFigure(figure)}\n`);
    if (!summarize(figure).met) missed += 1;
  }
  const file = await saveFigures(name, figures);
  process.stdout.write(
    `(${((Date.now() - startedAt) / 1000).toFixed(0)} s; saved ${path.relative(process.cwd(), file)})\n\n`,
  );
}

process.stdout.write(`${missed} figure(s) missed their target.\n`);
process.exit(0);

function describeMachine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const memoryGiB = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${new Date().toISOString()}  ${os.cpus().length} x ${cpu}, ${memoryGiB} GiB, Node ${process.version}`;
}
