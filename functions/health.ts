/** GET /health: whether Redis and both buckets answer. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { ObjectStore, RedisProbe } from './lib/ports.js';

export interface HealthDeps {
  redis: RedisProbe;
  store: ObjectStore;
  buckets: { source: string; export: string };
}

type CheckResult = 'ok' | 'error';

export const health = defineHttp({
  name: 'health',
  method: 'GET',
  paths: ['/health'],
  input: type({}),
  // Load balancers and container healthchecks poll it; they must never be rate-limited.
  rateLimit: 'none',
  async handler(_input, deps: HealthDeps) {
    const [redis, source, exports] = await Promise.all([
      check(() => deps.redis.ping()),
      check(() => deps.store.checkBucket(deps.buckets.source)),
      check(() => deps.store.checkBucket(deps.buckets.export)),
    ]);
    const storage: CheckResult = source === 'ok' && exports === 'ok' ? 'ok' : 'error';
    const healthy = redis === 'ok' && storage === 'ok';

    return {
      status: healthy ? 200 : 503,
      body: { status: healthy ? 'healthy' : 'unhealthy', checks: { redis, storage } },
    };
  },
});

async function check(probe: () => Promise<void>): Promise<CheckResult> {
  try {
    await probe();
    return 'ok';
  } catch {
    return 'error';
  }
}
