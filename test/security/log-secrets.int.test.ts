/**
 * Secrets in logs: the real `api` and `worker` processes (as `npm run api` and `npm run worker`
 * run them) behind nginx, with authentication on and an S3 secret key long enough to search
 * for. Requests carry API keys in headers and read tokens in query strings and headers, over
 * HTTP and HTTPS. Then every log line of both processes and nginx's access and error logs are
 * searched for every API key, read token and secret of the run.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LocalNginx, startNginx, toUpstream } from '../../infra/local/nginx.js';
import { RedisApiKeys } from '../../infra/redis/api-keys.js';
import { createS3Client } from '../../infra/s3-client.js';
import { loadConfig } from '../../runtime/config.js';
import { readSse } from '../support/sse.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import {
  findFreePort,
  type ServiceProcess,
  spawnServiceProcess,
  waitForHealthy,
} from '../support/processes.js';
import { createExportAs, type CreatedExport, send, waitForEndAs } from './secure-stack.js';

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

/**
 * The emulator's account registry. `@20minutes/s3rver` 4.0.4 ships no types, and its only
 * built-in key pair is S3RVER/S3RVER, too short to search logs for.
 */
const emulatorAccounts = require('@20minutes/s3rver/lib/models/account.js') as {
  DUMMY_ACCOUNT: {
    createKeyPair(accessKeyId: string, secretAccessKey: string): void;
    revokeAccessKey(accessKeyId: string): void;
  };
};

const presentFiles = [86_001, 86_002];
const missingFile = 86_999;

const s3AccessKeyId = `SCAN${randomBytes(8).toString('hex').toUpperCase()}`;
const s3SecretAccessKey = randomBytes(30).toString('base64url');
const readTokenSecret = randomBytes(32).toString('base64url');

let dir: string;
let testServices: TestServices;
let nginx: LocalNginx;
let ca: string;
let api: ServiceProcess;
let worker: ServiceProcess;
let apiUrl: string;
let redis: Redis;
/** Every API key, read token and secret that the run handled; none may reach a log. */
const secrets = new Map<string, string>();
/** Everything the run logged, by source. */
const logs = new Map<string, string>();
let metricsThroughNginx: Response;
let metricsFromApi: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'security-logs-'));
  await chmod(dir, 0o755);
  await execFileAsync('sh', ['scripts/make-cert.sh', path.join(dir, 'certs')]);
  ca = await readFile(path.join(dir, 'certs', 'tls.crt'), 'utf8');
  testServices = await startTestServices();
  emulatorAccounts.DUMMY_ACCOUNT.createKeyPair(s3AccessKeyId, s3SecretAccessKey);
  secrets.set('the S3 secret key', s3SecretAccessKey);
  secrets.set('READ_TOKEN_SECRET', readTokenSecret);

  const apiPort = await findFreePort();
  apiUrl = `http://127.0.0.1:${apiPort}`;
  nginx = await startNginx({
    dir: path.join(dir, 'nginx'),
    apiUpstream: `127.0.0.1:${apiPort}`,
    s3Upstream: toUpstream(testServices.s3.endpoint)!,
    maxBodyBytes: 65_536,
    tls: {
      certificate: path.join(dir, 'certs', 'tls.crt'),
      key: path.join(dir, 'certs', 'tls.key'),
    },
  });

  const env = {
    ...testServices.env,
    S3_ACCESS_KEY_ID: s3AccessKeyId,
    S3_SECRET_ACCESS_KEY: s3SecretAccessKey,
    S3_PUBLIC_ENDPOINT: nginx.s3Endpoint!,
    AUTH_ENABLED: 'true',
    READ_TOKEN_SECRET: readTokenSecret,
    API_HOST: '127.0.0.1',
    JOB_BACKOFF_MS: '200',
    // trace logs every line there is, so any field that carries a secret shows up.
    LOG_LEVEL: 'trace',
  };
  await putSources(env);

  const metricsPort = await findFreePort();
  api = spawnServiceProcess('api', { ...env, API_PORT: String(apiPort) });
  worker = spawnServiceProcess('worker', { ...env, METRICS_PORT: String(metricsPort) });
  await Promise.all([
    waitForHealthy(`${apiUrl}/health`, api, 60_000),
    waitForHealthy(`http://127.0.0.1:${metricsPort}/health`, worker, 60_000),
  ]);

  redis = new Redis(testServices.redisUrl, { maxRetriesPerRequest: 1 });
  const keys = new RedisApiKeys(redis, testServices.env.REDIS_PREFIX!);
  await driveRequests(keys);

  metricsThroughNginx = await fetch(`${nginx.url}/metrics`);
  await metricsThroughNginx.arrayBuffer();
  metricsFromApi = await (await fetch(`${apiUrl}/metrics`)).text();

  // Stopped before reading, so every log line has been written.
  await api.stop();
  await worker.stop();
  await nginx.stop();
  logs.set('api stdout', api.logs.map((line) => JSON.stringify(line)).join('\n'));
  logs.set('api output', api.outputTail());
  logs.set('worker stdout', worker.logs.map((line) => JSON.stringify(line)).join('\n'));
  logs.set('worker output', worker.outputTail());
  logs.set('nginx access log', await readFile(path.join(dir, 'nginx', 'access.log'), 'utf8'));
  logs.set('nginx error log', await readFile(path.join(dir, 'nginx', 'error.log'), 'utf8'));
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await worker?.stop();
  await nginx?.stop();
  redis?.disconnect();
  emulatorAccounts.DUMMY_ACCOUNT.revokeAccessKey(s3AccessKeyId);
  await testServices?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function putSources(env: Record<string, string>): Promise<void> {
  const config = loadConfig(env);
  const client = createS3Client(config.s3);
  try {
    for (const fileId of presentFiles) {
      const key = config.sourceKeyTemplate.replaceAll('{file_id}', String(fileId));
      await client.send(
        new PutObjectCommand({ Bucket: config.sourceBucket, Key: key, Body: randomBytes(8_192) }),
      );
    }
  } finally {
    client.destroy();
  }
}

function remember(name: string, secret: string): string {
  secrets.set(name, secret);

  return secret;
}

/** Follows an export's progress with `?token=` through nginx to its terminal frame. */
async function follow(created: CreatedExport): Promise<string | undefined> {
  const url = new URL(created.progressUrl, nginx.url);
  url.searchParams.set('token', created.readToken);
  const { frames } = await readSse(url.href);

  return frames.at(-1)?.event;
}

/** Sends a GET over HTTPS through nginx with the test certificate as the only trusted CA. */
function getOverHttps(requestPath: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = https.get(`${nginx.httpsUrl}${requestPath}`, { ca, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
  });
}

/** The statuses of the requests that `driveRequests` sends, by name. */
const statuses = new Map<string, number | string | undefined>();

async function status(name: string, response: Promise<Response>): Promise<void> {
  const answered = await response;
  await answered.arrayBuffer();
  statuses.set(name, answered.status);
}

/**
 * Sends every kind of request that carries a credential, through nginx: keys in headers, read
 * tokens in query strings and headers, wrong and tampered ones, over HTTP and HTTPS.
 */
async function driveRequests(keys: RedisApiKeys): Promise<void> {
  const key = remember('the API key of frank', await keys.create('frank'));
  const otherKey = remember('the API key of grace', await keys.create('grace'));
  remember('a wrong API key', `exk_${randomBytes(32).toString('base64url')}`);

  const completed = await createExportAs(nginx.url, key, presentFiles);
  remember('a read token of a completed export', completed.readToken);
  statuses.set('SSE with ?token=', await follow(completed));
  const failed = await createExportAs(nginx.url, key, [missingFile]);
  remember('a read token of a failed export', failed.readToken);
  statuses.set('SSE of a failure with ?token=', await follow(failed));
  await waitForEndAs(nginx.url, key, failed.jobId);

  const token = completed.readToken;
  const legacySubscribe = `/v1/download/subscribe/${completed.jobId}`;
  await status('status with ?token=', send(nginx.url, completed.statusUrl, { token }));
  await status(
    'status with X-Read-Token',
    send(nginx.url, completed.statusUrl, { token, tokenIn: 'header' }),
  );
  await status(
    'legacy status with ?token=',
    send(nginx.url, `/v1/download/status/${completed.jobId}`, { token }),
  );
  await status('legacy subscribe with ?token=', send(nginx.url, legacySubscribe, { token }));
  const download = await send(nginx.url, `/v1/export/${completed.jobId}/download`, { token });
  statuses.set('download with ?token=', download.status);
  await status(
    'the presigned download',
    fetch(download.headers.get('location') ?? 'missing:location'),
  );

  const issued = await send(nginx.url, '/v1/tokens', { method: 'POST', key });
  const ownerToken = remember('an owner token', ((await issued.json()) as { token: string }).token);
  await status(
    'the export list with ?token=',
    send(nginx.url, '/v1/exports', { token: ownerToken }),
  );
  const ids = `${completed.jobId},${failed.jobId}`;
  const multiplexed = new URL(`/v1/exports/progress?ids=${ids}`, nginx.url);
  multiplexed.searchParams.set('token', ownerToken);
  statuses.set('multiplexed SSE with ?token=', (await readSse(multiplexed.href)).frames.length);

  const tampered = remember('a tampered token', `${token.slice(0, -4)}AAAA`);
  await status('a tampered token', send(nginx.url, completed.statusUrl, { token: tampered }));
  await status(
    'a wrong key',
    send(nginx.url, completed.statusUrl, { key: secrets.get('a wrong API key')! }),
  );
  await status('another owner', send(nginx.url, completed.statusUrl, { key: otherKey }));
  await status(
    'a write with a token',
    send(nginx.url, completed.statusUrl, { method: 'DELETE', token }),
  );

  statuses.set(
    'HTTPS with a key',
    await getOverHttps(completed.statusUrl, { Authorization: `Bearer ${key}` }),
  );
  statuses.set(
    'HTTPS with ?token=',
    await getOverHttps(`${completed.statusUrl}?token=${token}`, {}),
  );
}

describe('the driven requests', () => {
  it.each([
    ['SSE with ?token=', 'completed'],
    ['SSE of a failure with ?token=', 'failed'],
    ['status with ?token=', 200],
    ['status with X-Read-Token', 200],
    ['legacy status with ?token=', 200],
    ['legacy subscribe with ?token=', 200],
    ['download with ?token=', 302],
    ['the presigned download', 200],
    ['the export list with ?token=', 200],
    ['multiplexed SSE with ?token=', 2],
    ['a tampered token', 401],
    ['a wrong key', 401],
    ['another owner', 404],
    ['a write with a token', 403],
    ['HTTPS with a key', 200],
    ['HTTPS with ?token=', 200],
  ])('%s returned %s', (name, expected) => {
    expect(statuses.get(name)).toBe(expected);
  });
});

describe('the collected logs', () => {
  it('hold the API requests', () => {
    expect(logs.get('api stdout')).toContain('"route":"/v1/export/:id/progress"');
  });

  it('hold the worker jobs', () => {
    expect(logs.get('worker stdout')).toContain('"jobId"');
  });

  it('hold nginx requests with tokens', () => {
    expect(logs.get('nginx access log')).toContain('?[redacted]');
  });

  it('cover every secret', () => {
    expect(secrets.size).toBe(9);
  });
});

describe('secrets in logs', () => {
  const sources = [
    'api stdout',
    'api output',
    'worker stdout',
    'worker output',
    'nginx access log',
    'nginx error log',
  ];

  it.each(sources)('none is in %s', (source) => {
    const text = logs.get(source) ?? '';
    const found = [...secrets].filter(([, secret]) => text.includes(secret)).map(([name]) => name);

    expect(found).toEqual([]);
  });

  it.each(sources)('no token signature is in %s', (source) => {
    const text = logs.get(source) ?? '';
    const signatures = [...secrets]
      .filter(([, secret]) => secret.startsWith('rt1.'))
      .map(([name, secret]) => [name, secret.split('.')[2]!] as const);
    const found = signatures
      .filter(([, signature]) => text.includes(signature))
      .map(([name]) => name);

    expect(found).toEqual([]);
  });
});

describe('metrics', () => {
  it('are served by the API process', () => {
    expect(metricsFromApi).toContain('# TYPE');
  });

  it('are not served through nginx', () => {
    expect(metricsThroughNginx.status).toBe(404);
  });
});
