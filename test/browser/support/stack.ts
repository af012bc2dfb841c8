/**
 * The stack that the browser tests drive: a private redis-server and S3 emulator, the API and
 * the worker in this process, and nginx in front serving the web page at /app/, as `npm start`
 * wires them. Source reads are throttled so that an export runs long enough to watch.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline, Transform } from 'node:stream';

import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';

import { type LocalNginx, startNginx, toUpstream } from '../../../infra/local/nginx.js';
import { RedisApiKeys } from '../../../infra/redis/api-keys.js';
import { startTestServices, type TestServices } from '../../support/local-services.js';
import { type RunningService, startService } from '../../support/service.js';

/** A running stack and the handles that browser tests use. */
export interface BrowserStack {
  nginx: LocalNginx;
  service: RunningService;
  /** The page through nginx, such as `http://127.0.0.1:41234/app/`. */
  pageUrl: string;
  /** Sets the rate of every later source read, in bytes per second. */
  setReadRate(bytesPerSecond: number): void;
  /** Stores `bytes` as the source of `fileId`, named `name`. */
  putSource(fileId: number, bytes: Uint8Array, name: string): Promise<void>;
  deleteSource(fileId: number): Promise<void>;
  /**
   * Stores a new API key for `owner` in the service's Redis, as `npm run api-key -- create`
   * does, and returns it. Only useful with `auth`.
   */
  createKey(owner: string): Promise<string>;
  /** Removes an API key; returns false when it was not stored. */
  revokeKey(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** Options of `startBrowserStack`. */
export interface BrowserStackOptions {
  /** Settings for the service on top of the defaults below. */
  env?: Record<string, string>;
  /** Initial rate of source reads in bytes per second. */
  readBytesPerSecond: number;
  /** Turns authentication on, with a random READ_TOKEN_SECRET. */
  auth?: boolean;
}

/** Starts the servers, nginx and the service. `stop` stops all of them. */
export async function startBrowserStack(options: BrowserStackOptions): Promise<BrowserStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'browser-test-'));
  // Under root, nginx's workers run as the user `nobody`, which must reach the temporary folder.
  await chmod(dir, 0o755);
  const stops: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
  };

  try {
    const testServices = await startTestServices();
    stops.push(() => testServices.stop());
    const env = { ...(options.auth ? authSettings() : {}), ...options.env };
    const { nginx, service } = await startBehindNginx(dir, testServices, env);
    stops.push(() => nginx.stop(), () => service.stop());
    const rate = { bytesPerSecond: options.readBytesPerSecond };
    throttleSourceReads(service, rate);
    // Connects on the first command, so stacks without authentication open no connection.
    const redis = new Redis(testServices.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    stops.push(async () => redis.disconnect());
    const keys = new RedisApiKeys(redis, service.config.redisPrefix);

    return {
      nginx,
      service,
      pageUrl: `${nginx.url}/app/`,
      setReadRate: (bytesPerSecond) => {
        rate.bytesPerSecond = bytesPerSecond;
      },
      putSource: (fileId, bytes, name) => service.putSource(fileId, bytes, name),
      deleteSource: (fileId) => deleteSource(service, fileId),
      createKey: (owner) => keys.create(owner),
      revokeKey: (key) => keys.revoke(key),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function authSettings(): Record<string, string> {
  return { AUTH_ENABLED: 'true', READ_TOKEN_SECRET: randomBytes(32).toString('hex') };
}

/**
 * Starts nginx first, as `npm start` does, because presigned URLs must be signed for nginx's
 * S3 address, which is known only once nginx runs.
 */
async function startBehindNginx(
  dir: string,
  testServices: TestServices,
  env: Record<string, string>,
): Promise<{ nginx: LocalNginx; service: RunningService }> {
  const apiPort = await findFreePort();
  const nginx = await startNginx({
    dir,
    apiUpstream: `127.0.0.1:${apiPort}`,
    s3Upstream: toUpstream(testServices.s3.endpoint)!,
    maxBodyBytes: 65_536,
  });

  try {
    const service = await startService({
      testServices,
      env: {
        API_PORT: String(apiPort),
        S3_PUBLIC_ENDPOINT: nginx.s3Endpoint!,
        // Every request of the page comes from 127.0.0.1, and polling tests send many.
        RATE_LIMIT_CREATE: '100000',
        RATE_LIMIT_READ: '100000',
        ...env,
      },
    });
    return { nginx, service };
  } catch (error) {
    await nginx.stop();
    throw error;
  }
}

/** Slows every source read of the worker to `rate.bytesPerSecond`, read at each chunk. */
function throttleSourceReads(service: RunningService, rate: { bytesPerSecond: number }): void {
  const store = service.services.deps.store;
  const read = store.read.bind(store);

  // A plain assignment rather than vi.spyOn, so that the screenshot script can run it too.
  store.read = async (bucket, key, signal) => {
    const source = await read(bucket, key, signal);
    if (source === null) return null;

    const slowed = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        const waitMs = (chunk.length / rate.bytesPerSecond) * 1000;
        setTimeout(() => callback(null, chunk), waitMs);
      },
    });
    // pipeline passes a failed or aborted read on to the throttled stream.
    pipeline(source, slowed, () => {});
    return slowed;
  };
}

async function deleteSource(service: RunningService, fileId: number): Promise<void> {
  const key = service.config.sourceKeyTemplate.replaceAll('{file_id}', String(fileId));
  const command = new DeleteObjectCommand({ Bucket: service.config.sourceBucket, Key: key });
  await service.s3Client.send(command);
}

async function findFreePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));

  return port;
}
