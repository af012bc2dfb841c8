/**
 * Real Redis and S3 for integration tests: a private redis-server and an S3 emulator on free
 * loopback ports, in a temporary folder that `stop` removes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type LocalRedis, startRedisServer } from '../../infra/local/redis-server.js';
import { type LocalS3, startS3Server } from '../../infra/local/s3-server.js';

const sourceBucket = 'downloads';
const exportBucket = 'exports';

/** Services started by `startTestServices`. */
export interface TestServices {
  redisUrl: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  /**
   * Settings for `loadConfig`: REDIS_URL, the S3_* settings, SOURCE_BUCKET, EXPORT_BUCKET and
   * a REDIS_PREFIX that is new on every call, so tests sharing a server do not collide.
   */
  env: Record<string, string>;
  /** Stops both servers and deletes their files. */
  stop(): Promise<void>;
}

/** Starts redis-server and the S3 emulator with the buckets `downloads` and `exports`. */
export async function startTestServices(): Promise<TestServices> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'export-service-test-'));
  let redis: LocalRedis | undefined;
  let s3: LocalS3 | undefined;

  const stop = async () => {
    await Promise.allSettled([redis?.stop(), s3?.stop()]);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    redis = await startRedisServer({ dir: path.join(dir, 'redis') });
    s3 = await startS3Server({ dir: path.join(dir, 's3'), buckets: [sourceBucket, exportBucket] });
  } catch (error) {
    await stop();
    throw error;
  }

  const credentials = {
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  };

  return { redisUrl: redis.url, s3: credentials, env: buildEnv(redis, s3), stop };
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
