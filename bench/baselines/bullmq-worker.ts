/**
 * The end-to-end benchmark's baseline: a bare BullMQ worker whose job makes the S3 calls of a
 * one-file export (HEAD the source, GET it, upload its bytes with lib-storage) and nothing
 * else. Usage: bullmq-worker.ts CONCURRENCY; reads REDIS_URL and the S3 settings from the
 * environment and prints `ready` once it takes jobs.
 */
import type { Readable } from 'node:stream';

import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { createS3Client } from '../../infra/s3-client.js';
import { loadConfig } from '../../runtime/config.js';
import { type RawJobData, rawQueueName, rawQueuePrefix } from '../lib/raw-queue.js';

const concurrency = Number(process.argv[2] ?? 10);
const config = loadConfig(process.env);
const client = createS3Client(config.s3);

const worker = new Worker<RawJobData>(
  rawQueueName,
  async (job) => {
    const Key = `downloads/${job.data.fileId}.zip`;
    await client.send(new HeadObjectCommand({ Bucket: config.sourceBucket, Key }));
    const object = await client.send(new GetObjectCommand({ Bucket: config.sourceBucket, Key }));
    const upload = new Upload({
      client,
      params: {
        Bucket: config.exportBucket,
        Key: `raw/${job.data.jobId}.bin`,
        Body: object.Body as Readable,
      },
    });
    await upload.done();
  },
  {
    connection: new Redis(config.redisUrl!, { maxRetriesPerRequest: null }),
    prefix: rawQueuePrefix,
    concurrency,
  },
);
await worker.waitUntilReady();
process.stdout.write('ready\n');

process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
