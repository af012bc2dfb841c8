/**
 * Imports the corpus into the source bucket of the configured S3 store, as `npm start` does
 * for its own emulator. The container stack runs it once at start-up. It reads S3_*,
 * SOURCE_BUCKET, SOURCE_KEY_TEMPLATE and CORPUS_DIR through the config module.
 */
import { importCorpus } from '../infra/local/corpus.js';
import { createS3Client } from '../infra/s3-client.js';
import { loadConfigOrExit } from '../runtime/entry/startup.js';

const config = loadConfigOrExit();
const client = createS3Client(config.s3);
const target = `s3://${config.sourceBucket} at ${config.s3.endpoint ?? 'AWS'}`;

try {
  const files = await importCorpus({
    client,
    bucket: config.sourceBucket,
    keyTemplate: config.sourceKeyTemplate,
    ...(config.corpusDir ? { folder: config.corpusDir } : {}),
  });
  const ids = `${files[0]?.fileId}..${files.at(-1)?.fileId}`;
  process.stdout.write(`Imported ${files.length} files into ${target} as ids ${ids}\n`);
} catch (error) {
  process.stderr.write(`Corpus import into ${target} failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  client.destroy();
}
