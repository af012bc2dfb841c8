/**
 * A private redis-server and S3 emulator that a test can stop and start again. Each start uses
 * the port and data folder of the first one, so clients reconnect to the same address and find
 * what the server had stored: Redis reloads its append-only file and the emulator its folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type LocalRedis, startRedisServer } from '../../infra/local/redis-server.js';
import { type LocalS3, startS3Server } from '../../infra/local/s3-server.js';

const sourceBucket = 'downloads';
const exportBucket = 'exports';

/** A server that keeps its address across a stop and the next start. */
export interface RestartableServer {
  /** Stops the server and keeps its data folder. Does nothing when it is stopped already. */
  stop(): Promise<void>;
  /** Starts the server again on its port and folder. Does nothing when it is running. */
  start(): Promise<void>;
}

/** The servers of `startRestartableServices`. */
export interface RestartableServices {
  redis: RestartableServer & { url: string; port: number };
  s3: RestartableServer & { endpoint: string };
  /**
   * Settings for the service processes: REDIS_URL, the S3_* settings, SOURCE_BUCKET,
   * EXPORT_BUCKET and a new REDIS_PREFIX.
   */
  env: Record<string, string>;
  /** Stops both servers and deletes their folders. */
  close(): Promise<void>;
}

/** Starts redis-server and the S3 emulator, which has the buckets `downloads` and `exports`. */
export async function startRestartableServices(): Promise<RestartableServices> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'export-service-restart-'));
  const redisDir = path.join(dir, 'redis');
  const s3Dir = path.join(dir, 's3');
  let redis: LocalRedis | undefined;
  let s3: LocalS3 | undefined;

  const close = async () => {
    await Promise.allSettled([redis?.stop(), s3?.stop()]);
    redis = undefined;
    s3 = undefined;
    await rm(dir, { recursive: true, force: true });
  };

  try {
    redis = await startRedisServer({ dir: redisDir });
    s3 = await startS3Server({ dir: s3Dir, buckets: [sourceBucket, exportBucket] });
  } catch (error) {
    await close();
    throw error;
  }

  const redisPort = redis.port;
  const s3Port = Number(new URL(s3.endpoint).port);
  const restartableRedis = {
    url: redis.url,
    port: redisPort,
    stop: async () => {
      await redis?.stop();
      redis = undefined;
    },
    start: async () => {
      redis ??= await startRedisServer({ dir: redisDir, port: redisPort });
    },
  };
  const restartableS3 = {
    endpoint: s3.endpoint,
    stop: async () => {
      await s3?.stop();
      s3 = undefined;
    },
    start: async () => {
      const buckets = [sourceBucket, exportBucket];
      s3 ??= await startS3Server({ dir: s3Dir, port: s3Port, buckets });
    },
  };

  return {
    redis: restartableRedis,
    s3: restartableS3,
    env: buildEnv(redis, s3),
    close,
  };
}

function buildEnv(redis: LocalRedis, s3: LocalS3): Record<string, string> {
  return {
    REDIS_URL: redis.url,
    REDIS_PREFIX: `test_${randomBytes(6).toString('hex')}`,
    S3_ENDPOINT: s3.endpoint,
    S3_PUBLIC_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    SOURCE_BUCKET: sourceBucket,
    EXPORT_BUCKET: exportBucket,
  };
}
