/** The structured logger behind the contract's Logger: pino, writing JSON lines to stdout. */
import { pino } from 'pino';

import type { Logger } from '../runtime/contract/define.js';

/** Paths whose values never reach a log line. */
const redactedPaths = [
  'secretAccessKey',
  '*.secretAccessKey',
  'headers.authorization',
  'headers.cookie',
  'downloadUrl',
  '*.downloadUrl',
];

/** Builds the process's root logger. */
export function createLogger(options: { level: string; service: string }): Logger {
  return pino({
    level: options.level,
    base: { service: options.service, pid: process.pid },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
