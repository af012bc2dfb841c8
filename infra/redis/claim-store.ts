/** The ClaimStore port in Redis: one string key per claim, with an expiry. */
import type { Redis } from 'ioredis';

import type { ClaimStore } from '../../functions/lib/ports.js';
import { asRedisError } from './unavailable.js';

export class RedisClaimStore implements ClaimStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(key: string, value: string, ttlSeconds: number): Promise<string | null> {
    // SET NX GET (Redis 7) claims and reads the holder in one step, so no race between them.
    const holder = await this.redis
      .set(this.key(key), value, 'EX', ttlSeconds, 'NX', 'GET')
      .catch(asRedisError);

    return holder;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(key), value, 'EX', ttlSeconds).catch(asRedisError);
  }

  async release(key: string): Promise<void> {
    await this.redis.del(this.key(key)).catch(asRedisError);
  }

  private key(key: string): string {
    return `${this.prefix}:claim:${key}`;
  }
}
