/**
 * HTTP load with autocannon, run as its own process so that it shares no event loop with the
 * server it measures or with this script.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

import { repoRoot } from './child.js';

const execFileAsync = promisify(execFile);
const autocannonCli = path.join(
  path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')),
  'autocannon.js',
);

/** One request shape to send for a fixed time. */
export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
}

/** The measurements of one autocannon run. */
export interface LoadResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Responses outside 2xx, connection errors and timeouts. */
  failures: number;
  total: number;
}

/** Runs autocannon once. Throws when a response was not 2xx, since the rate is then wrong. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const args = [
    autocannonCli,
    '--json',
    '--no-progress',
    '-c',
    String(options.connections),
    '-d',
    String(options.durationSeconds),
    '-m',
    options.method ?? 'GET',
    ...(options.body === undefined ? [] : ['-b', options.body]),
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}=${value}`]),
    options.url,
  ];
  const { stdout } = await execFileAsync(process.execPath, args, {
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
    timeout: (options.durationSeconds + 60) * 1000,
  });
  const report = JSON.parse(stdout) as AutocannonReport;
  const failures = report.non2xx + report.errors + report.timeouts;
  if (failures > 0) {
    throw new Error(
      `${options.method ?? 'GET'} ${options.url}: ${report.non2xx} non-2xx responses, ` +
        `${report.errors} errors and ${report.timeouts} timeouts in ${report.requests.total} requests`,
    );
  }

  return {
    requestsPerSecond: report.requests.total / report.duration,
    latencyP50Ms: report.latency.p50,
    latencyP99Ms: report.latency.p99,
    failures,
    total: report.requests.total,
  };
}

/** The fields of autocannon's `--json` report that are read here. */
interface AutocannonReport {
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
}

/**
 * Loads each of `urls` in turn for `rounds` rounds, a 2 s warm-up and then 5 s with 50
 * connections each time, so that load from other work falls on all of them alike. Returns the
 * requests/s of every run, per URL.
 */
export async function loadInTurn(urls: readonly string[], rounds = 3): Promise<number[][]> {
  const rates: number[][] = urls.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, url] of urls.entries()) {
      await runLoad({ url, connections: 50, durationSeconds: 2 });
      const result = await runLoad({ url, connections: 50, durationSeconds: 5 });
      rates[index]!.push(result.requestsPerSecond);
    }
  }

  return rates;
}
