/**
 * Finds the redis-server binary, and installs it with apt-get when it is missing and this
 * process may do so.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const errorTailLength = 4_096;

/** The fix to suggest in any error about a missing redis-server. */
export const installHint =
  'Install redis-server (on Debian or Ubuntu: `sudo apt-get install redis-server`), ' +
  'or set REDIS_URL to use a Redis that is already running.';

/** Options of `ensureRedisServer`. */
export interface EnsureRedisServerOptions {
  /** Callback that receives one line per install step. Nothing is reported when unset. */
  log?: (message: string) => void;
}

/**
 * Finds redis-server on PATH and returns its path. When it is missing and this process is root
 * on Debian, installs it with apt-get first, and otherwise throws a message on how to install it.
 */
export async function ensureRedisServer(options: EnsureRedisServerOptions = {}): Promise<string> {
  const found = await findOnPath('redis-server');
  if (found) return found;

  if (!(await canInstallWithApt())) {
    throw new Error(`redis-server was not found on PATH. ${installHint}`);
  }

  // NOTE: this install path has not been run on a machine without redis-server. Debian's
  // package scripts may start a system service on 6379, which this code neither uses nor stops.
  const log = options.log ?? (() => {});
  log('redis-server was not found on PATH, so installing it with apt-get');
  await runAptGet(['update'], log);
  await runAptGet(['install', '-y', 'redis-server'], log);

  const installed = await findOnPath('redis-server');
  if (!installed) throw new Error(`redis-server is still missing after apt-get. ${installHint}`);

  return installed;
}

async function findOnPath(command: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('sh', ['-c', 'command -v "$0"', command]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function canInstallWithApt(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;

  try {
    await access('/etc/debian_version');
  } catch {
    return false;
  }

  return (await findOnPath('apt-get')) !== undefined;
}

async function runAptGet(args: string[], log: (message: string) => void): Promise<void> {
  const command = `apt-get ${args.join(' ')}`;
  log(`running ${command}`);

  try {
    await execFileAsync('env', ['DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const detail = stderr.trim().slice(-errorTailLength) || String(error);
    throw new Error(`${command} failed:\n${detail}\n${installHint}`);
  }
}
