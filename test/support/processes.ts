/**
 * Runs the real `api` and `worker` processes for integration tests, with the command line of
 * their npm scripts, and collects their JSON log lines from stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { delay } from './api.js';

/** The entry points that have an npm script of the same name. */
export type ProcessEntry = 'api' | 'worker';

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One pino log line. */
export type LogLine = Record<string, unknown>;

/** A spawned process and what it has written so far. */
export interface ServiceProcess {
  entry: ProcessEntry;
  pid: number;
  /** The stdout lines that parsed as JSON, in order. */
  logs: LogLine[];
  /** Resolves when the process has exited. */
  exited: Promise<ExitStatus>;
  /** Returns the last 4 KiB of stdout and stderr, for error messages. */
  outputTail(): string;
  /** Resolves with the first log line that matches, or throws after the timeout. */
  waitForLog(
    match: (line: LogLine) => boolean,
    description: string,
    timeoutMs?: number,
  ): Promise<LogLine>;
  /** Sends SIGTERM and resolves once the process has exited, sending SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
}

/** The repository root, which the npm scripts run in. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Variables passed through from the test process. Everything else is left out, so OTEL_* or
 * S3 variables of the machine cannot change what a test observes.
 */
const inheritedNames = ['PATH', 'HOME', 'TMPDIR', 'LANG'];
const outputTailLength = 4_096;
const running = new Set<ChildProcess>();

// Kills children that a failed test left running when the test worker exits. A worker killed
// by a signal emits no 'exit' event, so this does not cover that case.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns `npm run <entry>` as `node <arguments of the script>` with `env` on top of PATH. */
export function spawnServiceProcess(
  entry: ProcessEntry,
  env: Record<string, string>,
): ServiceProcess {
  const child = spawn(process.execPath, scriptArguments(entry), {
    cwd: repoRoot,
    env: { ...inheritedEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let tail = '';
  const keep = (text: string) => {
    tail = (tail + text).slice(-outputTailLength);
  };
  // Without a listener, a failed spawn or kill would throw in the test process.
  child.on('error', (error) => keep(`\nChild process error: ${error.message}\n`));
  if (child.pid === undefined) {
    throw new Error(`Failed to spawn the ${entry} process with ${process.execPath}`);
  }

  running.add(child);

  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    keep(text);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const parsed = parseLogLine(line);
      if (parsed) logs.push(parsed);
    }
  });
  child.stderr.setEncoding('utf8').on('data', keep);

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });

  const waitForLog = async (
    match: (line: LogLine) => boolean,
    description: string,
    timeoutMs = 20_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = logs.find(match);
      if (line) return line;
      const exited = child.exitCode !== null || child.signalCode !== null;
      if (exited || Date.now() > deadline) {
        const reason = exited ? 'exited' : `timed out after ${timeoutMs} ms`;
        const message = `The ${entry} process ${reason} before it logged a ${description}`;
        throw new Error(`${message}. Output:\n${tail}`);
      }
      await delay(25);
    }
  };

  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  return { entry, pid: child.pid, logs, exited, outputTail: () => tail, waitForLog, stop };
}

/**
 * Polls `url` until it returns status 200. Throws with the process's output when the process
 * exits first or the timeout passes.
 */
export async function waitForHealthy(
  url: string,
  owner: ServiceProcess,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void owner.exited.then(() => {
    exited = true;
  });

  for (;;) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (exited || Date.now() > deadline) {
      const reason = exited ? 'exited' : `timed out after ${timeoutMs} ms (last status: ${status})`;
      const message = `The ${owner.entry} process ${reason} while waiting for 200 from ${url}`;
      throw new Error(`${message}. Output:\n${owner.outputTail()}`);
    }
    await delay(100);
  }
}

/**
 * Returns a TCP port that was free on 127.0.0.1 a moment ago. Another process may take it
 * before the caller binds it, which fails that start with EADDRINUSE rather than silently.
 */
export async function findFreePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));

  return address.port;
}

/**
 * Reads the npm script of `entry` from package.json and returns its arguments after `node`, so
 * the test runs exactly what `npm run <entry>` runs, with the Node binary running the tests.
 */
function scriptArguments(entry: ProcessEntry): string[] {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const script = manifest.scripts?.[entry];
  const [command, ...args] = script?.trim().split(/\s+/) ?? [];
  if (command !== 'node') {
    const found = script ?? 'missing';
    throw new Error(`The npm script "${entry}" must start with "node" (was: ${found})`);
  }

  return args;
}

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of inheritedNames) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }

  return env;
}

function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}
