/**
 * Fixed-window request counters in Redis, shared by every API process. Each window is one key
 * that expires with the window, so the counters need no clean-up. One script counts a request
 * in all its budgets, so a request costs one round trip however many budgets it draws on.
 */
import type { Redis } from 'ioredis';

import type { Budget, RateLimiter, RateLimitState } from '../../runtime/hosts/http/rate-limit.js';
import { asRedisError } from './unavailable.js';

// KEYS: one counter per budget, in the order they are charged. ARGV[1]: window in ms, then
// each budget's limit. Returns each count reached, and stops after the first one over its limit.
const countRequest = `
local counts = {}
for index, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  redis.call('PEXPIRE', key, ARGV[1], 'NX')
  counts[index] = count
  if count > tonumber(ARGV[index + 1]) then break end
end
return counts
`;

/** Budgets per window. */
export interface RateLimitOptions {
  prefix: string;
  windowSeconds: number;
  limits: Record<Budget, number>;
}

type CountingRedis = Redis & { rateLimitCount(...args: Array<string | number>): Promise<number[]> };

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly options: RateLimitOptions,
  ) {
    // A defined command goes out as EVALSHA, so the script text is not sent on every request.
    if (!('rateLimitCount' in redis)) redis.defineCommand('rateLimitCount', { lua: countRequest });
  }

  async hit(budgets: readonly Budget[], client: string): Promise<RateLimitState[]> {
    const windowMs = this.options.windowSeconds * 1000;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    // The client is the hash tag, so all keys of one call share a Redis Cluster slot.
    const keys = budgets.map((budget) => `${this.options.prefix}:rate:${budget}:{${client}}:${window}`);
    const limits = budgets.map((budget) => this.options.limits[budget]);

    const counts = await (this.redis as CountingRedis)
      .rateLimitCount(keys.length, ...keys, windowMs, ...limits)
      .catch(asRedisError);
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));

    return counts.map((count, index) => {
      const limit = limits[index] ?? 0;
      return { limit, remaining: limit - Number(count), resetSeconds };
    });
  }
}
