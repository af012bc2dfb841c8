/**
 * Starts the servers a benchmark runs against, all on 127.0.0.1: a private redis-server on a
 * free port (never 6379), the S3 emulator in its own process, and the API and worker processes.
 * Their settings keep limits from capping a run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

import { Redis } from 'ioredis';

import { startRedisServer, type LocalRedis } from '../../infra/local/redis-server.js';
import { type Child, findFreePort, repoRoot, spawnNode, waitForOk } from './child.js';

/** The folder of benchmark data that runs share; git ignores `.local/`. */
export const benchDir = path.join(repoRoot, '.local', 'bench');

/** Redis and S3 for one benchmark. */
export interface Stack {
  redisUrl: string;
  /** A command connection for setting up and checking; not used by the service. */
  redis: Redis;
  s3Endpoint: string;
  /** Settings every service process gets. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh redis-server and the S3 emulator. The emulator's `downloads` bucket is kept
 * between runs, so that large sources are written once; its `exports` bucket starts empty.
 */
export async function startStack(name: string): Promise<Stack> {
  buildServiceOnce();
  const redisDir = path.join(benchDir, 'redis', name);
  await rm(redisDir, { recursive: true, force: true });
  const localRedis: LocalRedis = await startRedisServer({ dir: redisDir });
  // Zips of earlier runs are of no further use; the sources in `downloads` are kept.
  await rm(path.join(benchDir, 's3', 'exports'), { recursive: true, force: true });
  const s3 = spawnNode('bench/servers/s3.ts', [path.join(benchDir, 's3'), 'downloads', 'exports'], {
    env: {},
  });
  const line = await s3.waitForLine((text) => text.startsWith('{'), 'its endpoint');
  const s3Endpoint = (JSON.parse(line) as { endpoint: string }).endpoint;
  const redis = new Redis(localRedis.url, { maxRetriesPerRequest: 1 });

  return {
    redisUrl: localRedis.url,
    redis,
    s3Endpoint,
    env: serviceEnv(localRedis.url, s3Endpoint),
    stop: async () => {
      redis.disconnect();
      await s3.stop();
      await localRedis.stop();
    },
  };
}

let built = false;

/**
 * Compiles the service into `dist/` with `npm run build`, once per benchmark process, so that
 * the API and the worker run the current code as production runs it.
 */
function buildServiceOnce(): void {
  if (built) return;

  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (build.status !== 0) {
    throw new Error(`npm run build failed (exit ${build.status}):\n${build.stdout}${build.stderr}`);
  }
  built = true;
}

/**
 * Settings of the API and the worker in every benchmark: limits far above any run, so that
 * rate limiting and the active-export cap count requests without rejecting them.
 */
function serviceEnv(redisUrl: string, s3Endpoint: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    S3_ENDPOINT: s3Endpoint,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    API_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_READ: '1000000000',
    RATE_LIMIT_CREATE: '1000000000',
    // No worker runs in `http`, so every export created there stays active for the whole run.
    MAX_ACTIVE_EXPORTS: '10000000',
    MAX_FILES_PER_EXPORT: '1000',
    METRICS_PORT: '0',
  };
}

/** A started API process. */
export interface ApiProcess {
  url: string;
  port: number;
  child: Child;
}

/** Options of `startApi` and `startWorker`. */
export interface ServiceOptions {
  tracing: boolean;
  env?: Record<string, string>;
  raiseOpenFileLimit?: boolean;
  nodeFlags?: string[];
  /** Runs the TypeScript through tsx instead of the compiled JavaScript that production runs. */
  viaTsx?: boolean;
}

/**
 * Spawns the API (`runtime/entry/api.ts`, compiled) on a free port and waits for `/health` to
 * return 200.
 */
export async function startApi(stack: Stack, options: ServiceOptions): Promise<ApiProcess> {
  const port = await findFreePort();
  const child = spawnNode('runtime/entry/api.ts', [], {
    env: { ...stack.env, ...options.env, API_PORT: String(port) },
    tracing: options.tracing,
    ...(options.raiseOpenFileLimit ? { raiseOpenFileLimit: true } : {}),
    ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
    compiled: !options.viaTsx,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/health`, child);

  return { url, port, child };
}

/**
 * Returns the Node flags that the `worker:compiled` npm script, and so production, passes
 * before its first `--import`, such as V8's heap settings.
 */
export function productionWorkerFlags(): string[] {
  const packageFile = path.join(repoRoot, 'package.json');
  const scripts = JSON.parse(readFileSync(packageFile, 'utf8')).scripts as Record<string, string>;
  const words = (scripts['worker:compiled'] ?? '').split(' ');

  return words.slice(1, words.indexOf('--import'));
}

/**
 * Spawns the worker (`runtime/entry/worker.ts`, compiled) with the Node flags of production,
 * and waits for its `/health` to return 200.
 */
export async function startWorker(stack: Stack, options: ServiceOptions): Promise<Child> {
  const port = await findFreePort();
  const child = spawnNode('runtime/entry/worker.ts', [], {
    env: { ...stack.env, ...options.env, METRICS_PORT: String(port) },
    tracing: options.tracing,
    nodeFlags: [...productionWorkerFlags(), ...(options.nodeFlags ?? [])],
    compiled: !options.viaTsx,
  });
  await waitForOk(`http://127.0.0.1:${port}/health`, child);

  return child;
}
