/** Maps connection-level ioredis failures onto the contract's outage error. */
import { BackendUnavailableError } from '../../runtime/contract/errors.js';

const connectionErrors = new Set(['MaxRetriesPerRequestError', 'ConnectionClosedError']);
const connectionMessages = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|LOADING/;

/** Rethrows `error`, as a BackendUnavailableError when Redis could not be reached. */
export function asRedisError(error: unknown): never {
  if (error instanceof Error) {
    if (connectionErrors.has(error.name) || connectionMessages.test(error.message)) {
      throw new BackendUnavailableError('redis', `Redis is unavailable: ${error.message}`, {
        cause: error,
      });
    }
  }

  throw error;
}
