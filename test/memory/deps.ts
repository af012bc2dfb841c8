/** One object of in-memory dependencies that satisfies every function's declared Deps. */
import { randomUUID } from 'node:crypto';

import type { RedisProbe } from '../../functions/lib/ports.js';
import { loadConfig } from '../../runtime/config.js';
import type { ServiceDeps } from '../../runtime/dependencies.js';
import { ReadTokens } from '../../runtime/hosts/http/read-tokens.js';
import { MemoryClaimStore } from './claim-store.js';
import { ManualClock } from './clock.js';
import { MemoryJobQueue } from './job-queue.js';
import { MemoryJobRecords } from './job-records.js';
import { MemoryObjectStore } from './object-store.js';
import { MemoryUrlSigner } from './url-signer.js';

/** ServiceDeps with the memory types, so tests reach their inspection methods and switches. */
export interface MemoryDeps extends ServiceDeps {
  records: MemoryJobRecords;
  events: MemoryJobRecords;
  queue: MemoryJobQueue;
  store: MemoryObjectStore;
  signer: MemoryUrlSigner;
  clock: ManualClock;
  redis: RedisProbe;
  claims: MemoryClaimStore;
}

/**
 * Builds fresh memory dependencies with the config's defaults (an empty environment), and
 * with both buckets present and empty. `records` and `events` are the same object.
 */
export function memoryDeps(): MemoryDeps {
  const config = loadConfig({});
  const records = new MemoryJobRecords();

  return {
    records,
    events: records,
    queue: new MemoryJobQueue(),
    store: new MemoryObjectStore([config.sourceBucket, config.exportBucket]),
    signer: new MemoryUrlSigner(),
    clock: new ManualClock(),
    newId: randomUUID,
    redis: { ping: async () => undefined },
    buckets: { source: config.sourceBucket, export: config.exportBucket },
    jobs: { attempts: config.jobs.attempts },
    claims: new MemoryClaimStore(),
    limits: config.limits,
    webhooks: { check: () => undefined, post: async () => ({ status: 204 }) },
    webhookSigner: { sign: (id: string) => `v1,memory-${id}` },
    webhookAttempts: config.webhooks.attempts,
    tokens: new ReadTokens('memory-deps-read-token-secret-0123456789'),
    readTokenTtlSeconds: config.auth.readTokenTtlSeconds,
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
}
