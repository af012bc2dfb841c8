/** Every function file's definition, for the hosts to mount. */
import type { AnyHttpFunction, AnyJobFunction } from '../runtime/contract/define.js';
import { buildExport } from './build-export.js';
import { createExport } from './create-export.js';
import { expireExport } from './expire-export.js';
import { followExport } from './follow-export.js';
import { getExport } from './get-export.js';
import { health } from './health.js';

export const httpFunctions: readonly AnyHttpFunction[] = [
  health,
  createExport,
  getExport,
  followExport,
];

export const jobFunctions: readonly AnyJobFunction[] = [buildExport, expireExport];
