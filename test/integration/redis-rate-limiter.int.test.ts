/**
 * The Redis rate limiter on a private redis-server: one command for all budgets of a request,
 * and no charge to later budgets once an earlier one is exceeded.
 */
import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LocalRedis } from '../../infra/local/redis-server.js';
import { RedisRateLimiter } from '../../infra/redis/rate-limiter.js';
import { recordCommands, startPrivateRedis } from '../support/redis-commands.js';

let server: LocalRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startPrivateRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

function newLimiter(limits = { create: 2, read: 4 }, connection = redis) {
  const prefix = `test_${randomBytes(6).toString('hex')}`;
  const options = { prefix, windowSeconds: 3_600, limits };

  return { prefix, limiter: new RedisRateLimiter(connection, options) };
}

describe('RedisRateLimiter', () => {
  it('counts both budgets in one command', async () => {
    const connection = new Redis(server.url);
    const { limiter } = newLimiter(undefined, connection);
    // The first call loads the script, which takes a second command.
    await limiter.hit(['read'], 'client:warm-up');
    const sent = recordCommands(connection);
    const states = await limiter.hit(['read', 'create'], 'client:a');
    connection.disconnect();

    expect(sent).toEqual(['evalsha']);
    expect(states.map((state) => state.limit)).toEqual([4, 2]);
    expect(states.map((state) => state.remaining)).toEqual([3, 1]);
  });

  it('skips the create budget past the read budget', async () => {
    const { limiter } = newLimiter({ create: 10, read: 1 });
    await limiter.hit(['read'], 'client:b');
    const states = await limiter.hit(['read', 'create'], 'client:b');
    const next = await limiter.hit(['create'], 'client:b');

    expect(states).toHaveLength(1);
    expect(states[0]?.remaining).toBe(-1);
    expect(next[0]?.remaining).toBe(9);
  });

  it('reports the create budget going over', async () => {
    const { limiter } = newLimiter({ create: 1, read: 10 });
    await limiter.hit(['read', 'create'], 'client:c');
    const states = await limiter.hit(['read', 'create'], 'client:c');

    expect(states.map((state) => state.remaining)).toEqual([8, -1]);
  });

  it('keeps one slot per client', async () => {
    const { prefix, limiter } = newLimiter();
    await limiter.hit(['read', 'create'], 'owner:alice');
    const keys = await redis.keys(`${prefix}:rate:*`);

    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toContain(':{owner:alice}:');
  });

  it('sets the window as expiry', async () => {
    const { prefix, limiter } = newLimiter();
    await limiter.hit(['read'], 'client:d');
    const [key] = await redis.keys(`${prefix}:rate:*`);
    const ttl = await redis.pttl(key ?? 'missing');

    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });
});
