/** GET /health: whether Redis and both buckets respond. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { ObjectStore, RedisProbe } from './lib/ports.js';

export interface HealthDeps {
  redis: RedisProbe;
  store: ObjectStore;
  buckets: { source: string; export: string };
}

type CheckResult = { state: 'ok' } | { state: 'error'; reason: string };

export const health = defineHttp({
  name: 'health',
  method: 'GET',
  paths: ['/health'],
  input: type({}),
  // Load balancers and container healthchecks poll it; they must never be rate-limited.
  rateLimit: 'none',
  access: 'public',
  async handler(_input, deps: HealthDeps, context) {
    const [redis, source, exports] = await Promise.all([
      check(() => deps.redis.ping()),
      check(() => deps.store.checkBucket(deps.buckets.source)),
      check(() => deps.store.checkBucket(deps.buckets.export)),
    ]);
    const storage = source.state === 'error' ? source : exports;
    const healthy = redis.state === 'ok' && storage.state === 'ok';
    const reasons = {
      ...(redis.state === 'error' ? { redis: redis.reason } : {}),
      ...(storage.state === 'error' ? { storage: storage.reason } : {}),
    };
    if (!healthy) context.logger.warn({ reasons }, 'Health check failed');

    return {
      status: healthy ? 200 : 503,
      headers: healthy ? {} : ({ 'Retry-After': '5' } as Record<string, string>),
      body: {
        status: healthy ? 'healthy' : 'unhealthy',
        checks: { redis: redis.state, storage: storage.state },
        ...(healthy ? {} : { reasons }),
      },
    };
  },
});

async function check(probe: () => Promise<void>): Promise<CheckResult> {
  try {
    await probe();
    return { state: 'ok' };
  } catch (error) {
    return { state: 'error', reason: error instanceof Error ? error.message : String(error) };
  }
}
