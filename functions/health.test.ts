import { describe, expect, it } from 'vitest';

import { StorageError } from '../runtime/contract/errors.js';
import { memoryHttpApp, readJson } from '../test/memory/http-app.js';

interface HealthBody {
  status: 'healthy' | 'unhealthy';
  checks: { redis: 'ok' | 'error'; storage: 'ok' | 'error' };
}

async function getHealth(app: ReturnType<typeof memoryHttpApp>['app']) {
  const response = await app.request('/health');

  return { status: response.status, body: await readJson<HealthBody>(response) };
}

describe('GET /health', () => {
  it('returns 200 when all respond', async () => {
    const { app } = memoryHttpApp();
    const { status, body } = await getHealth(app);

    expect(status).toBe(200);
    expect(body).toEqual({ status: 'healthy', checks: { redis: 'ok', storage: 'ok' } });
  });

  it('returns 503 when Redis fails', async () => {
    const { app, deps } = memoryHttpApp();
    deps.redis.ping = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6390');
    };
    const { status, body } = await getHealth(app);

    expect(status).toBe(503);
    expect(body.status).toBe('unhealthy');
    expect(body.checks.redis).toBe('error');
    expect(body.checks.storage).toBe('ok');
  });

  it('returns 503 when a bucket fails', async () => {
    const { app, deps } = memoryHttpApp();
    deps.store.checkBucket = async (bucket) => {
      if (bucket === deps.buckets.export) {
        throw new StorageError('access_denied', 'S3 returned 403');
      }
    };
    const { status, body } = await getHealth(app);

    expect(status).toBe(503);
    expect(body.checks.storage).toBe('error');
    expect(body.checks.redis).toBe('ok');
  });

  it('checks the source bucket', async () => {
    const { app, deps } = memoryHttpApp();
    deps.store.buckets.delete(deps.buckets.source);
    const { body } = await getHealth(app);

    expect(body.checks.storage).toBe('error');
  });

  it('logs no error for a failed check', async () => {
    const { app, deps, logger } = memoryHttpApp();
    deps.redis.ping = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6390');
    };
    await getHealth(app);

    expect(logger.at('error')).toHaveLength(0);
  });
});
