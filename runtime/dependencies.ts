/**
 * Builds the real dependencies from the config: Redis connections, the BullMQ queue, the S3
 * store and signer. Hosts receive the result as one object that satisfies every function's
 * declared dependencies.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { BullMQOtel } from 'bullmq-otel';
import { Redis, type RedisOptions } from 'ioredis';

import type { BuildExportDeps } from '../functions/build-export.js';
import type { CancelExportDeps } from '../functions/cancel-export.js';
import type { CheckDownloadDeps } from '../functions/check-download.js';
import type { CreateExportDeps } from '../functions/create-export.js';
import type { DownloadExportDeps } from '../functions/download-export.js';
import type { ExpireExportDeps } from '../functions/expire-export.js';
import type { FollowExportDeps } from '../functions/follow-export.js';
import type { FollowExportsDeps } from '../functions/follow-exports.js';
import type { GetExportDeps } from '../functions/get-export.js';
import type { HealthDeps } from '../functions/health.js';
import type { IssueTokenDeps } from '../functions/issue-token.js';
import type { DeliverWebhookDeps } from '../functions/deliver-webhook.js';
import type { InitiateDownloadDeps } from '../functions/initiate-download.js';
import type { ListExportsDeps } from '../functions/list-exports.js';
import type { ListFilesDeps } from '../functions/list-files.js';
import type { StartDownloadDeps } from '../functions/start-download.js';
import { BullJobQueue } from '../infra/bullmq-queue.js';
import { RedisApiKeys } from '../infra/redis/api-keys.js';
import { RedisClaimStore } from '../infra/redis/claim-store.js';
import { logConnectionState } from '../infra/redis/connection-log.js';
import { RedisJobEvents } from '../infra/redis/job-events.js';
import { RedisJobRecords } from '../infra/redis/job-records.js';
import { migrateOwnerIndexes } from '../infra/redis/owner-index-migration.js';
import { RedisRateLimiter } from '../infra/redis/rate-limiter.js';
import { S3ObjectStore } from '../infra/s3/object-store.js';
import { AddressPolicy } from '../infra/webhooks/address-policy.js';
import { HttpWebhookSender, StandardWebhookSigner } from '../infra/webhooks/http-sender.js';
import { S3UrlSigner } from '../infra/s3/url-signer.js';
import { createPublicSigningClient, createS3Client } from '../infra/s3-client.js';
import type { JobQueue } from '../functions/lib/ports.js';
import type { Config } from './config.js';
import type { Logger } from './contract/define.js';
import { ReadTokens } from './hosts/http/read-tokens.js';

/** Every dependency any function declares. */
export type ServiceDeps = CreateExportDeps &
  GetExportDeps &
  FollowExportDeps &
  HealthDeps &
  BuildExportDeps &
  ExpireExportDeps &
  InitiateDownloadDeps &
  CheckDownloadDeps &
  StartDownloadDeps &
  ListFilesDeps &
  ListExportsDeps &
  FollowExportsDeps &
  CancelExportDeps &
  DownloadExportDeps &
  IssueTokenDeps &
  DeliverWebhookDeps;

/** The dependencies and the connections behind them. */
export interface Services {
  deps: ServiceDeps;
  /** Opens a connection for a BullMQ worker, which needs its own blocking one. */
  workerConnection: () => Redis;
  /** Carries traces from the enqueue to the worker through the job. */
  queueTelemetry: BullMQOtel;
  rateLimiter: RedisRateLimiter;
  /** The BullMQ queue, for the dashboard. */
  bullQueue: BullJobQueue;
  apiKeys: RedisApiKeys;
  readTokens: ReadTokens;
  /** Moves owner indexes of earlier releases to the current key names; returns the count. */
  migrateOwnerIndexes(): Promise<number>;
  close(): Promise<void>;
}

/** API calls fail fast during a Redis outage instead of queueing behind a reconnect. */
const commandOptions: RedisOptions = { maxRetriesPerRequest: 1, connectTimeout: 5_000 };

/** Connects to Redis and S3 as `config` sets; the connections open lazily. */
export function createServices(
  config: Readonly<Config>,
  redisUrl: string,
  logger: Logger,
  overrides: { queue?: JobQueue } = {},
): Services {
  const redis = new Redis(redisUrl, commandOptions);
  const subscriber = new Redis(redisUrl, commandOptions);
  const queueConnection = new Redis(redisUrl, commandOptions);
  logConnectionState(redis, 'commands', logger);
  logConnectionState(subscriber, 'subscriber', logger);
  logConnectionState(queueConnection, 'queue', logger);
  const s3 = createS3Client(config.s3);
  const queueTelemetry = new BullMQOtel({ tracerName: 'export-service', enableMetrics: true });
  const queue = new BullJobQueue('exports', {
    connection: queueConnection,
    prefix: `${config.redisPrefix}:bull`,
    backoffMs: config.jobs.backoffMs,
    telemetry: queueTelemetry,
  });
  const store = new S3ObjectStore(s3);
  // Without authentication the tokens guard nothing, so a random key per process does.
  const readTokens = new ReadTokens(config.auth.readTokenSecret ?? randomBytes(32).toString('hex'));
  const apiKeys = new RedisApiKeys(redis, config.redisPrefix);
  const opened: Redis[] = [];

  const records = new RedisJobRecords(redis, {
    prefix: config.redisPrefix,
    retentionSeconds: config.recordRetentionSeconds,
  });
  const deps: ServiceDeps = {
    queue: overrides.queue ?? queue,
    records,
    events: new RedisJobEvents(subscriber, config.redisPrefix, (jobId) => records.get(jobId)),
    store,
    signer: new S3UrlSigner(createPublicSigningClient(config.s3)),
    clock: { now: () => Date.now() },
    newId: randomUUID,
    redis: { ping: async () => void (await redis.ping()) },
    buckets: { source: config.sourceBucket, export: config.exportBucket },
    jobs: { attempts: config.jobs.attempts },
    limits: config.limits,
    webhooks: new HttpWebhookSender(new AddressPolicy(config.webhooks)),
    // Without allowed hosts no webhook is sent, so a random secret signs nothing real.
    webhookSigner: new StandardWebhookSigner(config.webhooks.secret ?? `whsec_${randomBytes(24).toString('base64')}`),
    webhookAttempts: config.webhooks.attempts,
    tokens: readTokens,
    readTokenTtlSeconds: config.auth.readTokenTtlSeconds,
    claims: new RedisClaimStore(redis, config.redisPrefix),
    retention: { recordSeconds: config.recordRetentionSeconds },
    legacy: { startWaitMs: config.api.downloadStartWaitMs },
    settings: {
      sourceBucket: config.sourceBucket,
      sourceKeyTemplate: config.sourceKeyTemplate,
      exportBucket: config.exportBucket,
      uploadMemoryBudgetBytes: config.uploadMemoryBudgetBytes,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      artifactRetentionSeconds: config.artifactRetentionSeconds,
      maxExportBytes: config.limits.maxExportBytes,
    },
  };

  const { rateLimit } = config.api;
  const rateLimiter = new RedisRateLimiter(redis, {
    prefix: config.redisPrefix,
    windowSeconds: rateLimit.windowSeconds,
    limits: { create: rateLimit.create, read: rateLimit.read },
  });

  return {
    deps,
    queueTelemetry,
    rateLimiter,
    bullQueue: queue,
    apiKeys,
    readTokens,
    migrateOwnerIndexes: () => migrateOwnerIndexes(redis, config.redisPrefix),
    workerConnection: () => {
      // BullMQ workers block on Redis and must wait out a reconnect rather than fail.
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      logConnectionState(connection, 'worker', logger);
      opened.push(connection);
      return connection;
    },
    close: async () => {
      await queue.close();
      await Promise.all([redis, subscriber, queueConnection, ...opened].map((c) => c.quit()));
      s3.destroy();
    },
  };
}
