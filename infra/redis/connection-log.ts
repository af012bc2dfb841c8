/**
 * Logs a Redis connection's outages once each: the first error, then the recovery. ioredis
 * emits an error on every reconnect attempt, and without a listener prints each to stderr.
 */
import type { Redis } from 'ioredis';

import type { Logger } from '../../runtime/contract/define.js';

/** Attaches the listeners to `connection`, naming it `role` in the log lines. */
export function logConnectionState(connection: Redis, role: string, logger: Logger): void {
  let failing = false;
  let failures = 0;

  connection.on('error', (error: Error) => {
    failures += 1;
    if (failing) return;

    failing = true;
    logger.error({ err: error, connection: role }, 'Redis connection failed; reconnecting');
  });
  connection.on('ready', () => {
    if (!failing) return;

    logger.info({ connection: role, failedAttempts: failures }, 'Redis connection restored');
    failing = false;
    failures = 0;
  });
}
