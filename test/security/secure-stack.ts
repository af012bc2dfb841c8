/**
 * The export service with authentication on, for the security tests: the API and the worker
 * in the test process on a private redis-server and S3 emulator, nginx in front when asked,
 * and API keys stored as `npm run api-key -- create` stores them.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import { vi } from 'vitest';

import type { ObjectStore } from '../../functions/lib/ports.js';
import { type ExportSnapshot, terminalStatuses } from '../../functions/lib/snapshot.js';
import { type LocalNginx, startNginx, toUpstream } from '../../infra/local/nginx.js';
import { RedisApiKeys } from '../../infra/redis/api-keys.js';
import { waitFor } from '../support/api.js';
import { type RunningService, startService } from '../support/service.js';

/** Options of `startSecureStack`. */
export interface SecureStackOptions {
  /** Settings on top of AUTH_ENABLED, READ_TOKEN_SECRET and the test defaults. */
  env?: Record<string, string>;
  /** Starts nginx in front of the API; `tls` adds HTTPS with a certificate from make-cert.sh. */
  nginx?: { tls?: { certificate: string; key: string } };
  /** Set to false to run the API without a worker. */
  worker?: boolean;
}

/** A running stack and what the tests need to drive it. */
export interface SecureStack {
  service: RunningService;
  /** The API itself, without nginx. */
  apiUrl: string;
  /** nginx in front of the API, when it was asked for. */
  nginx: LocalNginx | undefined;
  /** The folder that contains nginx's config and logs, when nginx runs. */
  nginxDir: string | undefined;
  readTokenSecret: string;
  /** Stores a new API key for `owner` in the service's Redis and returns it. */
  createKey(owner: string): Promise<string>;
  /** Removes an API key; returns false when it was not stored. */
  revokeKey(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** Settings that keep the budgets out of the way of tests that do not test them. */
const generousLimits: Record<string, string> = {
  RATE_LIMIT_READ: '100000',
  RATE_LIMIT_CREATE: '100000',
};

/** Starts the service with AUTH_ENABLED=true and a random READ_TOKEN_SECRET of 64 characters. */
export async function startSecureStack(options: SecureStackOptions = {}): Promise<SecureStack> {
  const readTokenSecret = randomBytes(32).toString('hex');
  const service = await startService({
    env: {
      ...generousLimits,
      ...options.env,
      AUTH_ENABLED: 'true',
      READ_TOKEN_SECRET: readTokenSecret,
    },
    ...(options.worker === false ? { worker: false } : {}),
  });
  const redis = new Redis(service.testServices.redisUrl, { maxRetriesPerRequest: 1 });
  const keys = new RedisApiKeys(redis, service.config.redisPrefix);
  let nginx: LocalNginx | undefined;
  let nginxDir: string | undefined;

  const stop = async () => {
    await nginx?.stop();
    redis.disconnect();
    await service.stop();
    if (nginxDir) await rm(path.dirname(nginxDir), { recursive: true, force: true });
  };

  try {
    if (options.nginx) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'security-nginx-'));
      // nginx's workers run as the user `nobody` under root, and must enter the folder.
      await chmod(dir, 0o755);
      nginxDir = path.join(dir, 'nginx');
      nginx = await startNginx({
        dir: nginxDir,
        apiUpstream: toUpstream(service.url)!,
        maxBodyBytes: service.config.api.maxBodyBytes,
        ...(options.nginx.tls ? { tls: options.nginx.tls } : {}),
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    service,
    apiUrl: service.url,
    nginx,
    nginxDir,
    readTokenSecret,
    createKey: (owner) => keys.create(owner),
    revokeKey: (key) => keys.revoke(key),
    stop,
  };
}

/** How a request proves who sends it. */
export interface Credentials {
  /** An API key, sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** A read token, sent as `?token=` unless `tokenIn` is `header`. */
  token?: string;
  tokenIn?: 'query' | 'header';
}

/** Options of `send`. */
export interface SendOptions extends Credentials {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Sends one request to `baseUrl + path` with the given credentials; redirects are not followed. */
export function send(
  baseUrl: string,
  requestPath: string,
  options: SendOptions = {},
): Promise<Response> {
  const url = new URL(requestPath, baseUrl);
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.Authorization = `Bearer ${options.key}`;
  if (options.token !== undefined && options.tokenIn === 'header')
    headers['X-Read-Token'] = options.token;
  if (options.token !== undefined && options.tokenIn !== 'header')
    url.searchParams.set('token', options.token);
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';

  return fetch(url, {
    method: options.method ?? 'GET',
    headers,
    redirect: 'manual',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
}

/** The body of a 202 from POST /v1/export with authentication on. */
export interface CreatedExport {
  jobId: string;
  status: string;
  statusUrl: string;
  progressUrl: string;
  readToken: string;
  joined?: boolean;
}

/** Creates an export as the owner of `key`; throws unless the response is 202. */
export async function createExportAs(
  baseUrl: string,
  key: string,
  fileIds: number[],
  options: { join?: boolean; headers?: Record<string, string> } = {},
): Promise<CreatedExport> {
  const body = { file_ids: fileIds, join: options.join ?? false };
  const response = await send(baseUrl, '/v1/export', {
    method: 'POST',
    key,
    body,
    ...(options.headers ? { headers: options.headers } : {}),
  });
  const text = await response.text();
  if (response.status !== 202) {
    throw new Error(`POST /v1/export returned ${response.status}, expected 202: ${text}`);
  }

  return JSON.parse(text) as CreatedExport;
}

/** Polls the export with `key` until it has ended and returns the final snapshot. */
export async function waitForEndAs(
  baseUrl: string,
  key: string,
  exportId: string,
): Promise<ExportSnapshot> {
  return waitFor(
    async () => {
      const response = await send(baseUrl, `/v1/export/${exportId}`, { key });
      const snapshot = (await response.json()) as ExportSnapshot;
      return terminalStatuses.has(snapshot.status) ? snapshot : undefined;
    },
    { description: `export ${exportId} to end` },
  );
}

/** The `error` object of an error response. */
export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** Reads the `{"error":{…}}` body of `response`; throws, with the body, for any other shape. */
export async function readError(response: Response): Promise<ErrorBody> {
  const text = await response.text();
  let error: Partial<ErrorBody> | undefined;
  try {
    error = (JSON.parse(text) as { error?: Partial<ErrorBody> }).error;
  } catch {
    error = undefined;
  }
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
    throw new Error(`The ${response.status} response has no error object: ${text}`);
  }

  return error as ErrorBody;
}

/** A gate in front of the store's HEAD requests. */
export interface LookupGate {
  /** Resolves when the first HEAD request waits at the gate. */
  reached: Promise<void>;
  /** Lets every waiting and later request through, and puts the original method back. */
  release(): void;
}

/**
 * Holds every HEAD request of `store` until `release`. The worker's preflight looks up each
 * source with one, so an export that starts meanwhile stays `processing`.
 */
export function holdSourceLookups(store: ObjectStore): LookupGate {
  const head = store.head.bind(store);
  let open!: () => void;
  let arrive!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const spy = vi.spyOn(store, 'head').mockImplementation(async (bucket, key) => {
    arrive();
    await gate;
    return head(bucket, key);
  });

  return {
    reached,
    release: () => {
      open();
      spy.mockRestore();
    },
  };
}
