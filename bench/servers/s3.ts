/**
 * The S3 emulator in a process of its own, so that its work is not counted against the
 * process that measures. Usage: s3.ts DIR BUCKET...; prints `{"endpoint":…}` once listening.
 */
import { startS3Server } from '../../infra/local/s3-server.js';

const [dir, ...buckets] = process.argv.slice(2);
if (!dir || buckets.length === 0) {
  process.stderr.write('Usage: s3.ts DIR BUCKET...\n');
  process.exit(2);
}

const s3 = await startS3Server({ dir, buckets });
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint })}\n`);

const stop = () => void s3.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
