/**
 * `npm start`: the whole service on one machine without Docker. It starts redis-server and the
 * S3 emulator unless REDIS_URL or S3_ENDPOINT name running ones, imports the corpus, runs the
 * API and the worker in this process behind nginx, and prints where everything listens.
 */
import path from 'node:path';

import { importCorpus } from '../../infra/local/corpus.js';
import {
  ensureNginx,
  findTlsFiles,
  hostAndPort,
  type LocalNginx,
  startNginx,
  toUpstream,
} from '../../infra/local/nginx.js';
import { ensureRedisServer, startRedisServer } from '../../infra/local/redis-server.js';
import { startS3Server } from '../../infra/local/s3-server.js';
import { writeStackFile } from '../../infra/local/stack-file.js';
import { createLogger } from '../../infra/logger.js';
import { createS3Client } from '../../infra/s3-client.js';
import type { Config } from '../config.js';
import { createServices } from '../dependencies.js';
import { startApi, startWorker, stopOnSignals } from '../processes.js';
import { loadConfigOrExit } from './startup.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, service: 'local' });
const stackDir = path.resolve(config.localStackDir);
const stops: Array<() => Promise<void>> = [];
// Registered before anything starts, so a Ctrl+C during start-up stops what already runs.
stopOnSignals(logger, async () => {
  for (const stop of stops) await stop();
});

const redisUrl = config.redisUrl ?? (await startOwnRedis());
const s3 = config.s3.endpoint ? config.s3 : await startOwnS3();
const proxy = await startOwnNginx(s3);
const local: Readonly<Config> = { ...config, redisUrl, s3: routeDownloadsThrough(proxy, s3) };

const corpus = await importCorpus({
  client: createS3Client(s3),
  bucket: local.sourceBucket,
  keyTemplate: local.sourceKeyTemplate,
  ...(local.corpusDir ? { folder: local.corpusDir } : {}),
});

const services = createServices(local, redisUrl, logger);
const api = await startApi(local, services, logger);
const worker = startWorker(local, services, logger);
// Stopped first to last: no new requests, then no new jobs, then the connections they used.
stops.unshift(
  () => api.close(),
  () => worker.close(local.jobs.shutdownTimeoutMs),
  () => services.close(),
);

await writeStackFile(stackDir, {
  apiUrl: proxy.url,
  redisUrl,
  s3: {
    endpoint: s3.endpoint ?? '',
    accessKeyId: s3.accessKeyId ?? '',
    secretAccessKey: s3.secretAccessKey ?? '',
  },
  sourceBucket: local.sourceBucket,
  exportBucket: local.exportBucket,
  sourceKeyTemplate: local.sourceKeyTemplate,
  startedAt: new Date().toISOString(),
});

printSummary();

async function startOwnRedis(): Promise<string> {
  await ensureRedisServer({ log: (line) => process.stdout.write(`${line}\n`) });
  const redis = await startRedisServer({ dir: path.join(stackDir, 'redis') });
  stops.push(() => redis.stop());

  return redis.url;
}

async function startOwnS3(): Promise<Config['s3']> {
  const emulator = await startS3Server({
    dir: path.join(stackDir, 's3'),
    buckets: [config.sourceBucket, config.exportBucket],
  });
  stops.push(() => emulator.stop());

  return {
    ...config.s3,
    endpoint: emulator.endpoint,
    publicEndpoint: emulator.endpoint,
    accessKeyId: emulator.accessKeyId,
    secretAccessKey: emulator.secretAccessKey,
    forcePathStyle: true,
  };
}

// nginx in front of the API and the S3 store, as in the container stack: the API on
// 127.0.0.1:LOCAL_NGINX_PORT (and HTTPS on LOCAL_NGINX_TLS_PORT when .local/certs contains a
// certificate from scripts/make-cert.sh), and the store on a free port that presigned
// download URLs point to.
async function startOwnNginx(store: Config['s3']): Promise<LocalNginx> {
  const binary = await ensureNginx((line) => process.stdout.write(`${line}\n`));
  const s3Upstream = store.endpoint === undefined ? undefined : toUpstream(store.endpoint);
  const tls = await findTlsFiles(path.join(stackDir, 'certs'));
  const nginx = await startNginx({
    binary,
    dir: path.join(stackDir, 'nginx'),
    apiUpstream: hostAndPort(config.api.host, config.api.port),
    ...(s3Upstream === undefined ? {} : { s3Upstream }),
    maxBodyBytes: config.api.maxBodyBytes,
    httpPort: config.localNginx.httpPort,
    ...(tls === undefined ? {} : { tls: { ...tls, port: config.localNginx.tlsPort } }),
  });
  stops.push(() => nginx.stop());

  return nginx;
}

/** Signs download URLs for nginx's S3 proxy, unless S3_PUBLIC_ENDPOINT names another address. */
function routeDownloadsThrough(nginx: LocalNginx, store: Config['s3']): Config['s3'] {
  const publicEndpointSet = config.s3.publicEndpoint !== config.s3.endpoint;
  if (publicEndpointSet || nginx.s3Endpoint === undefined) return store;

  return { ...store, publicEndpoint: nginx.s3Endpoint };
}

function printSummary(): void {
  const ids = corpus.map((file) => file.fileId);
  const sample = ids.slice(0, 20).join(' ');
  const lines = [
    '',
    'Export service is running. Stop it with Ctrl+C.',
    `  API     ${proxy.url} through nginx  (direct: ${api.url}, health: ${proxy.url}/health)`,
    ...(proxy.httpsUrl ? [`  HTTPS   ${proxy.httpsUrl} through nginx`] : []),
    `  Page    ${proxy.url}/app/  (the web page)`,
    `  Redis   ${redisUrl}`,
    `  S3      ${s3.endpoint ?? 'AWS'}  (buckets ${local.sourceBucket}, ${local.exportBucket})`,
    `          download URLs point to ${local.s3.publicEndpoint ?? 'AWS'}`,
    `  nginx   config and logs in ${path.dirname(proxy.configFile)}`,
    `  Corpus  ${corpus.length} files imported as ids ${ids[0]}..${ids.at(-1)}`,
    '',
    'In another terminal, export and verify 20 files:',
    `  npm run export -- ${sample}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
