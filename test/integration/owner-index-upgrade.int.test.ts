/**
 * A worker start moves owner indexes from the key names of the earlier release, so that an
 * export created before an upgrade is listed by the API afterwards.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { newRecord } from '../../functions/lib/snapshot.js';
import { RedisJobRecords } from '../../infra/redis/job-records.js';
import { anonymousOwner } from '../../runtime/contract/define.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';

const prefix = 'upgrade';
let testServices: TestServices;
let redis: Redis;
let service: RunningService | undefined;

beforeAll(async () => {
  testServices = await startTestServices();
  redis = new Redis(testServices.redisUrl);
});

afterAll(async () => {
  await service?.stop();
  redis.disconnect();
  await testServices.stop();
});

it('lists an export indexed before the upgrade', async () => {
  // The record as the earlier release left it: its owner indexes without the hash tag.
  const records = new RedisJobRecords(redis, { prefix, retentionSeconds: 3_600 });
  const record = newRecord('before-upgrade', [10_001], 3, new Date(), anonymousOwner);
  await records.create(record);
  for (const index of ['exports-by-owner', 'active-by-owner']) {
    const key = `${prefix}:${index}:${anonymousOwner}`;
    await redis.rename(`${prefix}:${index}:{${anonymousOwner}}`, key);
  }

  service = await startService({ testServices, env: { REDIS_PREFIX: prefix } });
  await expect
    .poll(async () => {
      const response = await fetch(`${service!.url}/v1/exports`);
      const body = (await response.json()) as { exports: Array<{ jobId: string }> };
      return body.exports.map((listedExport) => listedExport.jobId);
    })
    .toEqual(['before-upgrade']);

  expect(await redis.exists(`${prefix}:exports-by-owner:${anonymousOwner}`)).toBe(0);
});
