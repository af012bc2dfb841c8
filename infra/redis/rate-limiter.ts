/**
 * Fixed-window request counters in Redis, shared by every API process. Each window is one key
 * that expires with the window, so the counters need no clean-up and suit a Redis Cluster.
 */
import type { Redis } from 'ioredis';

import type { RateLimiter, RateLimitState } from '../../runtime/hosts/http/rate-limit.js';
import { asRedisError } from './unavailable.js';

/** Budgets per window. */
export interface RateLimitOptions {
  prefix: string;
  windowSeconds: number;
  limits: { create: number; read: number };
}

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly options: RateLimitOptions,
  ) {}

  async hit(budget: 'create' | 'read', client: string): Promise<RateLimitState> {
    const windowMs = this.options.windowSeconds * 1000;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const key = `${this.options.prefix}:rate:${budget}:${client}:${window}`;

    const results = await this.redis
      .multi()
      .incr(key)
      .pexpire(key, windowMs, 'NX')
      .exec()
      .catch(asRedisError);
    const count = Number(results?.[0]?.[1] ?? 0);
    const limit = this.options.limits[budget];

    return {
      limit,
      remaining: limit - count,
      resetSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000)),
    };
  }
}
