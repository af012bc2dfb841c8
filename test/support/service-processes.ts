/**
 * Helpers for tests that run several real `api` and `worker` processes against one Redis and
 * one S3 store, break something, and check what a client receives. They start the processes on
 * free ports, store sources, read the internal export record and BullMQ's lists, and compare a
 * downloaded zip with its sources.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';

import type { ExportRecord } from '../../functions/lib/snapshot.js';
import { createS3Client } from '../../infra/s3-client.js';
import { loadConfig } from '../../runtime/config.js';
import { waitFor } from './api.js';
import {
  findFreePort,
  type LogLine,
  type ServiceProcess,
  spawnServiceProcess,
  waitForHealthy,
} from './processes.js';
import { readZipEntries, sha256 } from './zip.js';

/**
 * Settings every process gets unless a test overrides them: info logs for the "Job started"
 * lines, and rate limits far above what a test sends.
 */
export const processDefaults: Record<string, string> = {
  API_HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  RATE_LIMIT_READ: '1000000',
  RATE_LIMIT_CREATE: '1000000',
};

/**
 * Maximum time until a new process's `/health` returns 200. Each process loads tsx and the
 * OpenTelemetry instrumentations, which takes several seconds of CPU on a busy 2-core machine.
 */
const startTimeoutMs = 60_000;

/** A started `api` process and its base URL. */
export interface ApiProcess {
  process: ServiceProcess;
  url: string;
}

/** A started `worker` process and the base URL of its `/health` and `/metrics`. */
export interface WorkerProcess {
  process: ServiceProcess;
  metricsUrl: string;
}

/** Spawns `npm run api` on a free port and resolves once its `/health` returns 200. */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const api = spawnServiceProcess('api', { ...processDefaults, ...env, API_PORT: String(port) });
  await waitForHealthy(`${url}/health`, api, startTimeoutMs);

  return { process: api, url };
}

/** Spawns `npm run worker` with a free metrics port and resolves once its `/health` returns 200. */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const port = await findFreePort();
  const metricsUrl = `http://127.0.0.1:${port}`;
  const worker = spawnServiceProcess('worker', {
    ...processDefaults,
    ...env,
    METRICS_PORT: String(port),
  });
  await waitForHealthy(`${metricsUrl}/health`, worker, startTimeoutMs);

  return { process: worker, metricsUrl };
}

/** Returns true for a worker's "Job started" log line of `jobId`. */
export function isJobStart(jobId: string): (line: LogLine) => boolean {
  return (line) => line.jobId === jobId && line.msg === 'Job started';
}

/** One source file of an export. */
export interface Source {
  fileId: number;
  name: string;
  bytes: Buffer;
}

/** Stores each source under SOURCE_KEY_TEMPLATE with its name as `filename` metadata. */
export async function putSources(env: Record<string, string>, sources: Source[]): Promise<void> {
  const config = loadConfig(env);
  const client = createS3Client(config.s3);

  try {
    for (const source of sources) {
      const key = config.sourceKeyTemplate.replaceAll('{file_id}', String(source.fileId));
      const command = new PutObjectCommand({
        Bucket: config.sourceBucket,
        Key: key,
        Body: source.bytes,
        Metadata: { filename: source.name },
      });
      await client.send(command);
    }
  } finally {
    client.destroy();
  }
}

/**
 * Creates the test's own connection to its redis-server, for reading what the public API hides.
 * Its commands fail at once while the server is down instead of waiting for a reconnect.
 */
export function connectToTestRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  // Commands report their own errors; without a listener ioredis prints every reconnect.
  redis.on('error', () => undefined);

  return redis;
}

/** Reads the internal record of an export, with fields such as `upload` that snapshots omit. */
export async function readExportRecord(
  redis: Redis,
  prefix: string,
  exportId: string,
): Promise<ExportRecord | undefined> {
  const data = await redis.hget(`${prefix}:export:${exportId}`, 'data');

  return data ? (JSON.parse(data) as ExportRecord) : undefined;
}

/**
 * Waits until the record of `exportId` carries a multipart upload id and returns it. A worker
 * records the id once the first part is stored, so the export is then under way.
 */
export async function waitForUploadId(
  redis: Redis,
  prefix: string,
  exportId: string,
): Promise<string> {
  return waitFor(async () => (await readExportRecord(redis, prefix, exportId))?.upload?.uploadId, {
    timeoutMs: 30_000,
    description: `the upload id of export ${exportId} on its record`,
  });
}

/** Returns the ids in BullMQ's active list of the `exports` queue. */
export async function activeJobIds(redis: Redis, prefix: string): Promise<string[]> {
  return redis.lrange(`${prefix}:bull:exports:active`, 0, -1);
}

/**
 * Compares the entries of `zip` with `sources`, matched by their `file_id=` comments, and
 * returns one line per difference: a missing, extra or changed entry. An empty list means the
 * zip contains exactly the sources, byte for byte.
 */
export async function compareZipWithSources(zip: Buffer, sources: Source[]): Promise<string[]> {
  const entries = await readZipEntries(zip);
  const differences: string[] = [];

  for (const source of sources) {
    const entry = entries.find((candidate) => candidate.comment === `file_id=${source.fileId}`);
    if (!entry) differences.push(`file ${source.fileId}: no entry`);
    else if (sha256(entry.bytes) !== sha256(source.bytes)) {
      differences.push(`file ${source.fileId}: bytes differ (${entry.bytes.length} bytes)`);
    }
  }
  if (entries.length !== sources.length) {
    differences.push(`${entries.length} entries for ${sources.length} sources`);
  }

  return differences;
}
