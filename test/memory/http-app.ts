/** The Hono host over memory dependencies, for in-process HTTP tests. */
import { httpFunctions } from '../../functions/index.js';
import { createHttpApp } from '../../runtime/hosts/http/app.js';
import { type MemoryDeps, memoryDeps } from './deps.js';
import { MemoryLogger } from './logger.js';

/** The options the tests share; the body limit is the config's default. */
export const maxBodyBytes = 64 * 1024;

/** Builds the app with fresh memory dependencies and a logger that keeps its lines. */
export function memoryHttpApp(options: { sseHeartbeatMs?: number } = {}) {
  const deps: MemoryDeps = memoryDeps();
  const logger = new MemoryLogger();
  const app = createHttpApp(httpFunctions, {
    deps,
    logger,
    maxBodyBytes,
    // Long enough that no heartbeat arrives between frames unless a test sets a shorter one.
    sseHeartbeatMs: options.sseHeartbeatMs ?? 60_000,
  });

  return { app, deps, logger };
}

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Parses a response body as JSON of the type the test expects. */
export async function readJson<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
