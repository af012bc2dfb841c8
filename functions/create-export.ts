/** POST /v1/export: records a queued export and enqueues its zip build. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { Clock, JobQueue, JobRecords } from './lib/ports.js';
import { exportPaths, fileId } from './lib/schemas.js';
import { newRecord } from './lib/snapshot.js';

/** The most ids one export may name. */
const maxFileIds = 1000;

export interface CreateExportDeps {
  records: JobRecords;
  queue: JobQueue;
  clock: Clock;
  newId: () => string;
  jobs: { attempts: number };
}

const input = type({
  body: {
    '+': 'reject',
    file_ids: fileId.array().atLeastLength(1).atMostLength(maxFileIds),
  },
});

export const createExport = defineHttp({
  name: 'create-export',
  method: 'POST',
  paths: ['/v1/export'],
  input,
  async handler({ body }, deps: CreateExportDeps, context) {
    const fileIds = [...new Set(body.file_ids)];
    const exportId = deps.newId();
    const record = newRecord(exportId, fileIds, deps.jobs.attempts, new Date(deps.clock.now()));

    // The record goes first: a worker that picks the job up at once must find it.
    await deps.records.create(record);
    await deps.queue.enqueue(
      'build-export',
      { exportId, fileIds },
      { jobId: exportId, attempts: deps.jobs.attempts },
    );

    const paths = exportPaths(exportId);
    context.telemetry.setAttributes({ 'export.job_id': exportId, 'export.file_count': fileIds.length });

    return {
      status: 202,
      headers: { Location: paths.status },
      body: {
        jobId: exportId,
        status: record.status,
        totalFileIds: fileIds.length,
        statusUrl: paths.status,
        progressUrl: paths.progress,
      },
    };
  },
});
