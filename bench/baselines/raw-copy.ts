/**
 * The zip benchmark's baseline: HEADs every source, then GETs each in turn and streams the
 * bytes, unchanged, into one multipart upload with the part size and parts in flight that the
 * worker would plan.
 * Usage: raw-copy.ts DESTINATION_KEY SOURCE_KEY...; reads the S3 settings from the environment
 * and prints `{"milliseconds":…,"bytes":…}`.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { planUpload } from '../../functions/lib/part-size.js';
import { createS3Client } from '../../infra/s3-client.js';
import { loadConfig } from '../../runtime/config.js';

const [destination, ...sources] = process.argv.slice(2);
if (!destination || sources.length === 0) {
  process.stderr.write('Usage: raw-copy.ts DESTINATION_KEY SOURCE_KEY...\n');
  process.exit(2);
}

const config = loadConfig(process.env);
const client = createS3Client(config.s3);
const startedAt = performance.now();

// The sizes set the part size, as the worker's HEAD requests do.
let bytes = 0;
for (const key of sources) {
  const head = await client.send(new HeadObjectCommand({ Bucket: config.sourceBucket, Key: key }));
  bytes += head.ContentLength ?? 0;
}
const plan = planUpload(bytes, config.uploadMemoryBudgetBytes);
const body = new PassThrough();
const upload = new Upload({
  client,
  params: { Bucket: config.exportBucket, Key: destination, Body: body },
  partSize: plan.partSizeBytes,
  queueSize: plan.partsInFlight,
});
const uploaded = upload.done();

for (const key of sources) {
  const object = await client.send(new GetObjectCommand({ Bucket: config.sourceBucket, Key: key }));
  await pipeline(object.Body as Readable, body, { end: false });
}
body.end();
await uploaded;

process.stdout.write(`${JSON.stringify({ milliseconds: performance.now() - startedAt, bytes })}\n`);
client.destroy();
