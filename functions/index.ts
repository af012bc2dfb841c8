/** Every function file's definition, for the hosts to mount. */
import type { AnyHttpFunction, AnyJobFunction } from '../runtime/contract/define.js';
import { buildExport } from './build-export.js';
import { cancelExport } from './cancel-export.js';
import { checkDownload } from './check-download.js';
import { createExport } from './create-export.js';
import { deliverWebhook } from './deliver-webhook.js';
import { downloadExport } from './download-export.js';
import { expireExport } from './expire-export.js';
import { followExport } from './follow-export.js';
import { followExports } from './follow-exports.js';
import { getExport } from './get-export.js';
import { health } from './health.js';
import { hello } from './hello.js';
import { initiateDownload } from './initiate-download.js';
import { issueToken } from './issue-token.js';
import { listExports } from './list-exports.js';
import { listFiles } from './list-files.js';
import { retryExport } from './retry-export.js';
import { startDownload } from './start-download.js';

export const httpFunctions: readonly AnyHttpFunction[] = [
  hello,
  health,
  createExport,
  getExport,
  cancelExport,
  downloadExport,
  followExport,
  followExports,
  retryExport,
  issueToken,
  listExports,
  listFiles,
  // The older download API, kept for its clients.
  initiateDownload,
  checkDownload,
  startDownload,
];

export const jobFunctions: readonly AnyJobFunction[] = [buildExport, expireExport, deliverWebhook];
