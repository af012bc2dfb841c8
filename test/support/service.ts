/**
 * The whole export service in the test process: the API listening on a free loopback port and
 * the BullMQ worker, both on a private redis-server and S3 emulator.
 */
import { randomBytes } from 'node:crypto';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { createLogger } from '../../infra/logger.js';
import { createS3Client } from '../../infra/s3-client.js';
import { type Config, loadConfig } from '../../runtime/config.js';
import { createServices, type Services } from '../../runtime/dependencies.js';
import { type Running, startApi, startWorker } from '../../runtime/processes.js';
import type { WorkerHost } from '../../runtime/hosts/worker-host.js';
import { startTestServices, type TestServices } from './local-services.js';

/** Options of `startService`. */
export interface StartServiceOptions {
  /** Settings for `loadConfig` on top of the test defaults and the test servers' settings. */
  env?: Record<string, string>;
  /**
   * Servers to reuse, which `stop` leaves running. The service then gets a REDIS_PREFIX of its
   * own, so its worker takes no jobs of another service on the same Redis. New servers are
   * started when unset.
   */
  testServices?: TestServices;
  /** Set to false to run the API without a worker. */
  worker?: boolean;
}

/** A running service and the handles that tests need to drive and inspect it. */
export interface RunningService {
  /** The API's base URL, such as `http://127.0.0.1:41234`. */
  url: string;
  config: Readonly<Config>;
  /** The dependencies of the API and the worker. Tests stub their methods to inject faults. */
  services: Services;
  /** A client of the internal S3 endpoint, for putting sources and reading objects. */
  s3Client: S3Client;
  /** The redis-server and S3 emulator that the service runs on. */
  testServices: TestServices;
  /** Stores `bytes` as the source of `fileId`, with `name` as its original file name. */
  putSource(fileId: number, bytes: Uint8Array, name?: string): Promise<void>;
  /** Stops the worker, the API and the connections, then the servers that it started. */
  stop(): Promise<void>;
}

/** Settings that keep tests fast and quiet, which `options.env` overrides. */
const testDefaults: Record<string, string> = {
  API_HOST: '127.0.0.1',
  API_PORT: '0',
  JOB_BACKOFF_MS: '200',
  LOG_LEVEL: 'silent',
};

/** Starts the API and, unless `options.worker` is false, the worker. */
export async function startService(options: StartServiceOptions = {}): Promise<RunningService> {
  const ownsTestServices = options.testServices === undefined;
  const testServices = options.testServices ?? (await startTestServices());
  const prefix = ownsTestServices ? {} : { REDIS_PREFIX: `test_${randomBytes(6).toString('hex')}` };
  const config = loadConfig({ ...testServices.env, ...prefix, ...testDefaults, ...options.env });
  const logger = createLogger({ level: config.logLevel, service: 'test' });
  const services = createServices(config, config.redisUrl ?? testServices.redisUrl, logger);
  const s3Client = createS3Client(config.s3);
  let api: (Running & { url: string }) | undefined;
  let worker: WorkerHost | undefined;

  const stop = async () => {
    await worker?.close(config.jobs.shutdownTimeoutMs);
    await api?.close();
    await services.close();
    s3Client.destroy();
    if (ownsTestServices) await testServices.stop();
  };

  try {
    api = await startApi(config, services, logger);
    if (options.worker !== false) worker = startWorker(config, services, logger);
  } catch (error) {
    await stop();
    throw error;
  }

  const putSource = async (fileId: number, bytes: Uint8Array, name?: string) => {
    const key = config.sourceKeyTemplate.replaceAll('{file_id}', String(fileId));
    const metadata = name === undefined ? undefined : { filename: encodeURIComponent(name) };
    const command = new PutObjectCommand({
      Bucket: config.sourceBucket,
      Key: key,
      Body: bytes,
      Metadata: metadata,
    });
    await s3Client.send(command);
  };

  return { url: api.url, config, services, s3Client, testServices, putSource, stop };
}
