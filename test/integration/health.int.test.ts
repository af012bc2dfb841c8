import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LocalRedis, startRedisServer } from '../../infra/local/redis-server.js';
import { waitFor } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';

/** Requests time out after this many milliseconds, so a hang fails the test quickly. */
const healthTimeoutMs = 5_000;

interface HealthBody {
  status: string;
  checks: { redis: string; storage: string };
}

describe('health with Redis', () => {
  let testServices: TestServices;
  let redisDir: string;
  let redis: LocalRedis;
  let service: RunningService;

  beforeAll(async () => {
    testServices = await startTestServices();
    // A redis-server of its own, which the tests stop and start again on the same port.
    redisDir = await mkdtemp(path.join(os.tmpdir(), 'health-redis-'));
    redis = await startRedisServer({ dir: redisDir });
    service = await startService({ testServices, env: { REDIS_URL: redis.url } });
  });

  afterAll(async () => {
    await service?.stop();
    await redis?.stop();
    await testServices?.stop();
    if (redisDir) await rm(redisDir, { recursive: true, force: true });
  });

  it('reports healthy', async () => {
    const { status, body } = await getHealth(service.url);

    expect(status).toBe(200);
    expect(body).toEqual({ status: 'healthy', checks: { redis: 'ok', storage: 'ok' } });
  });

  describe('after redis-server stops', () => {
    beforeAll(async () => {
      await redis.stop();
    });

    it('reports redis error with 503', async () => {
      const startedAt = Date.now();
      const { status, body } = await getHealth(service.url);

      expect(status).toBe(503);
      expect(body.status).toBe('unhealthy');
      expect(body.checks).toEqual({ redis: 'error', storage: 'ok' });
      expect(Date.now() - startedAt).toBeLessThan(3_000);
    });

    it('answers 503 to a new export', async () => {
      const response = await fetch(`${service.url}/v1/export`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ file_ids: [70_000] }),
        signal: AbortSignal.timeout(healthTimeoutMs),
      });
      await response.body?.cancel();

      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
    });

    it('answers 503 to a status read', async () => {
      const url = `${service.url}/v1/export/6f1b7a3e-2c4d-4e5f-8a9b-0c1d2e3f4a5b`;
      const response = await fetch(url, { signal: AbortSignal.timeout(healthTimeoutMs) });
      await response.body?.cancel();

      expect(response.status).toBe(503);
    });

    it('recovers once Redis is back', async () => {
      redis = await startRedisServer({ dir: redisDir, port: redis.port });

      const recovered = await waitFor(
        async () => ((await getHealth(service.url)).status === 200 ? true : undefined),
        { timeoutMs: 15_000, intervalMs: 200, description: 'GET /health to return 200' },
      );

      expect(recovered).toBe(true);
    });
  });
});

describe('health with S3 down', () => {
  let testServices: TestServices;
  let redisDir: string;
  let redis: LocalRedis;
  let service: RunningService;

  beforeAll(async () => {
    testServices = await startTestServices();
    redisDir = await mkdtemp(path.join(os.tmpdir(), 'health-redis-'));
    redis = await startRedisServer({ dir: redisDir });
    service = await startService({ testServices, env: { REDIS_URL: redis.url }, worker: false });
    // Stops the emulator, and the unused redis-server of the test services with it.
    await testServices.stop();
  });

  afterAll(async () => {
    await service?.stop();
    await redis?.stop();
    if (redisDir) await rm(redisDir, { recursive: true, force: true });
  });

  it('reports storage error with 503', async () => {
    const { status, body } = await getHealth(service.url);

    expect(status).toBe(503);
    expect(body.checks).toEqual({ redis: 'ok', storage: 'error' });
  });
});

async function getHealth(url: string): Promise<{ status: number; body: HealthBody }> {
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(healthTimeoutMs) });

  return { status: response.status, body: (await response.json()) as HealthBody };
}
