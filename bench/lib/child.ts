/**
 * Child processes of the benchmarks: the API, the worker, the baselines and the load clients
 * each run in their own Node process, so none shares an event loop with the load generator.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root, where every child runs. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const outputTailLength = 8_192;
const stopTimeoutMs = 10_000;
const running = new Set<ChildProcess>();

// A benchmark that throws must not leave servers behind. A signal skips this handler, which
// is why run.ts turns SIGINT and SIGTERM into a normal exit.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A running child process. */
export interface Child {
  pid: number;
  /** Resolves with the first stdout line that `match` accepts; throws on exit or timeout. */
  waitForLine(match: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Returns the last 8 KiB of stdout and stderr. */
  outputTail(): string;
  /** Peak resident set size (VmHWM) in bytes, read from /proc while the process runs. */
  peakRssBytes(): Promise<number>;
  /** Current resident set size (VmRSS) in bytes. */
  rssBytes(): Promise<number>;
  /** The soft limit on open files, from /proc/<pid>/limits. */
  openFileLimit(): Promise<number>;
  /** Sends SIGTERM and resolves once the process has exited (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Options of `spawnNode`. */
export interface SpawnNodeOptions {
  env: Record<string, string>;
  /** Loads the OpenTelemetry SDK first, as the `api` and `worker` npm scripts do. */
  tracing?: boolean;
  /** Raises the child's open-file limit (soft) to its hard limit, which only root can raise. */
  raiseOpenFileLimit?: boolean;
  /** Extra Node flags, such as `--cpu-prof`. */
  nodeFlags?: string[];
  /**
   * Runs the script's JavaScript from `dist/` with plain `node`, as production does, instead of
   * the TypeScript through tsx. `npm run build` must have compiled it.
   */
  compiled?: boolean;
}

/**
 * Spawns `node --import tsx [register] <script> ...args` in the repository root, or with
 * `compiled`, `node [register] dist/<script as .js> ...args`.
 */
export function spawnNode(script: string, args: string[], options: SpawnNodeOptions): Child {
  const nodeArgs = [...(options.nodeFlags ?? []), ...loaderArgs(script, options), ...args];
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...options.env };
  // `exec` keeps the pid, so /proc/<pid>/status is the Node process's own.
  const child = options.raiseOpenFileLimit
    ? spawn('bash', ['-c', 'ulimit -n hard && exec "$0" "$@"', process.execPath, ...nodeArgs], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, nodeArgs, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });

  return wrap(child, script);
}

function loaderArgs(script: string, options: SpawnNodeOptions): string[] {
  if (options.compiled) {
    const register = ['--import', './dist/runtime/telemetry/register.js'];
    return [...(options.tracing ? register : []), `dist/${script.replace(/\.ts$/, '.js')}`];
  }

  const register = ['--import', './runtime/telemetry/register.ts'];
  return ['--import', 'tsx', ...(options.tracing ? register : []), script];
}

function wrap(child: ChildProcess, name: string): Child {
  if (child.pid === undefined) throw new Error(`Failed to spawn ${name}`);
  const pid = child.pid;
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.on('error', (error) => keep(`\n${name}: ${error.message}\n`));

  let tail = '';
  const lines: string[] = [];
  let partial = '';
  const keep = (text: string) => {
    tail = (tail + text).slice(-outputTailLength);
  };
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    keep(text);
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.setEncoding('utf8').on('data', keep);

  const waitForLine = async (
    match: (line: string) => boolean,
    what: string,
    timeoutMs = 60_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(match);
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        const reason = Date.now() > deadline ? `timed out after ${timeoutMs} ms` : 'exited';
        throw new Error(`${name} ${reason} before it printed ${what}. Output:\n${tail}`);
      }
      await delay(20);
    }
  };

  return {
    pid,
    waitForLine,
    outputTail: () => tail,
    peakRssBytes: () => readStatusKib(pid, 'VmHWM').then((kib) => kib * 1024),
    rssBytes: () => readStatusKib(pid, 'VmRSS').then((kib) => kib * 1024),
    openFileLimit: () => readOpenFileLimit(pid),
    stop: () => stopChild(child),
  };
}

async function readStatusKib(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);

  return Number(match[1]);
}

async function readOpenFileLimit(pid: number): Promise<number> {
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\d+)/m.exec(limits);
  if (!match) throw new Error(`/proc/${pid}/limits has no "Max open files" line`);

  return Number(match[1]);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the kernel for a free port on 127.0.0.1, released again before returning. */
export async function findFreePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address !== 'object') throw new Error('No free port found');

  return address.port;
}

/** Polls `url` until it returns 200, or throws after `timeoutMs`. */
export async function waitForOk(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await delay(100);
  }

  throw new Error(
    `${url} did not return 200 within ${timeoutMs} ms. Output:\n${child.outputTail()}`,
  );
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
