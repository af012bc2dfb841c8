/** Schemas shared by several function files. */
import { type } from 'arktype';

import { HttpError } from '../../runtime/contract/errors.js';

/** A file id as the platform numbers them. */
export const fileId = type('10000 <= number.integer <= 100000000');

/** The `file_ids` list of a request that creates an export. */
export const fileIdList = fileId.array().atLeastLength(1).atMostLength(1000);

/** Export ids are random UUIDs; anything else cannot name an export. */
export const exportIdParams = type({ id: 'string.uuid' });

/** The job data of `build-export`. */
export const buildExportData = type({
  exportId: 'string.uuid',
  fileIds: fileId.array().atLeastLength(1),
});

/** Public paths of one export. */
export function exportPaths(exportId: string): { status: string; progress: string } {
  return { status: `/v1/export/${exportId}`, progress: `/v1/export/${exportId}/progress` };
}

/** The 404 that every endpoint taking an export id returns for an unknown one. */
export function exportNotFound(exportId: string): HttpError {
  return new HttpError(404, 'not_found', `No export has the id ${exportId}`, 'id');
}
