/**
 * Starts a private redis-server for the local stack and the integration tests. It listens on
 * 127.0.0.1 only and never on 6379, the port of any Redis that the machine itself runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

import { installHint } from './redis-install.js';

export { ensureRedisServer, type EnsureRedisServerOptions } from './redis-install.js';

const host = '127.0.0.1';
const reservedPort = 6379;
const startTimeoutMs = 10_000;
const stopTimeoutMs = 10_000;
const outputTailLength = 4_096;
const freePortAttempts = 3;

/** A redis-server process started by `startRedisServer`. */
export interface LocalRedis {
  /** `redis://127.0.0.1:<port>`, with no password because the server listens on loopback only. */
  url: string;
  port: number;
  /** Sends SIGTERM and resolves once the process has exited (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /** Folder for the append-only files, created when missing. */
  dir: string;
  /** Port to listen on. A free one is chosen when unset, and 6379 is rejected. */
  port?: number;
  /** Path of the binary, or `redis-server` from PATH when unset. */
  binary?: string;
}

/** Thrown when the chosen port was taken between finding it free and redis binding it. */
class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/**
 * Spawns redis-server with append-only persistence and no eviction, and resolves once it
 * replies to PING. Throws with the tail of its output if it exits early or is not up in 10 s.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<LocalRedis> {
  if (options.port === reservedPort) {
    const message = `Port ${reservedPort} is left to the machine's own Redis`;
    throw new Error(`${message}. Pass another port, or none to get a free one.`);
  }

  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const binary = options.binary ?? 'redis-server';

  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (await findFreePort());
    try {
      return await launch(binary, port, dir);
    } catch (error) {
      const mayRetry = options.port === undefined && attempt < freePortAttempts;
      if (!(mayRetry && error instanceof PortInUseError)) throw error;
    }
  }
}

async function launch(binary: string, port: number, dir: string): Promise<LocalRedis> {
  const child = spawn(binary, redisArguments(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });

  // Stops the server when this process exits without calling stop(), such as a failed test
  // worker. A process killed by a signal emits no 'exit' event, so this does not cover it.
  const stopOnExit = () => child.kill('SIGTERM');
  process.on('exit', stopOnExit);

  const stop = async () => {
    process.off('exit', stopOnExit);
    await stopChild(child);
  };

  try {
    await waitUntilReady(child, port, output, () => spawnError);
  } catch (error) {
    await stop();
    throw error;
  }

  return { url: `redis://${host}:${port}`, port, stop };
}

function redisArguments(port: number, dir: string): string[] {
  return [
    '--port', String(port),
    '--bind', host,
    '--daemonize', 'no',
    '--dir', dir,
    '--appendonly', 'yes',
    // RDB snapshots are off so that the append-only file is the one copy on disk.
    '--save', '',
    '--maxmemory-policy', 'noeviction',
  ];
}

async function waitUntilReady(
  child: ChildProcess,
  port: number,
  output: () => string,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;

  while (Date.now() < deadline) {
    const error = spawnError();
    if (error) throw describeSpawnError(error);

    if (child.exitCode !== null || child.signalCode !== null) {
      const status = child.exitCode ?? child.signalCode;
      const ErrorType = /address already in use/i.test(output()) ? PortInUseError : Error;
      throw new ErrorType(
        `redis-server exited (${status}) before accepting connections on ${host}:${port}. ` +
          `Its last output:\n${output()}`,
      );
    }

    if (await repliesToPing(port)) return;
    await delay(100);
  }

  throw new Error(
    `redis-server timed out: no reply to PING on ${host}:${port} within ` +
      `${startTimeoutMs / 1000} s. Its last output:\n${output()}`,
  );
}

function describeSpawnError(error: Error): Error {
  if ('code' in error && error.code === 'ENOENT') {
    return new Error(`redis-server could not be started: ${error.message}. ${installHint}`);
  }

  return new Error(`redis-server could not be started: ${error.message}`);
}

/** Keeps the last 4,096 characters of stdout and stderr for errors, and drains the pipes. */
function collectOutput(child: ChildProcess): () => string {
  let tail = '';
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-outputTailLength);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  return () => tail.trim() || '(no output)';
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;

  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);

  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Sends an inline PING and resolves true on `+PONG`, or false on any error or other reply. */
function repliesToPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };

    socket.setTimeout(1_000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString('latin1').startsWith('+PONG')));
  });
}

/** Asks the kernel for a free port on 127.0.0.1, which is released again before returning. */
async function findFreePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    server.listen(0, host);
    await once(server, 'listening');
    const address = server.address();
    server.close();
    await once(server, 'close');

    if (address && typeof address === 'object' && address.port !== reservedPort) {
      return address.port;
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
