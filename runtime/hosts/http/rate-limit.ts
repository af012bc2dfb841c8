/**
 * Request budgets per client, with the RateLimit headers (draft 6 names, which the older
 * clients read) on every response and 429 with Retry-After past the limit.
 */
import type { Context, MiddlewareHandler } from 'hono';

import { HttpError } from '../../contract/errors.js';
import type { HostEnv } from './observe.js';

/** A budget's state after one more request was counted. */
export interface RateLimitState {
  limit: number;
  /** Negative when this request went over the limit. */
  remaining: number;
  resetSeconds: number;
}

/** Counts requests in windows shared by every API process. */
export interface RateLimiter {
  hit(budget: 'create' | 'read', client: string): Promise<RateLimitState>;
}

/** Counts the request against `budget` and responds with 429 once the client is over it. */
export function limitRate(
  limiter: RateLimiter,
  budget: 'create' | 'read',
  clientOf: (c: Parameters<MiddlewareHandler>[0]) => string,
): MiddlewareHandler {
  return async (c, next) => {
    const state = await limiter.hit(budget, clientOf(c));
    const headers = {
      'RateLimit-Limit': String(state.limit),
      'RateLimit-Remaining': String(Math.max(0, state.remaining)),
      'RateLimit-Reset': String(state.resetSeconds),
    };

    if (state.remaining < 0) {
      const retry = { ...headers, 'Retry-After': String(state.resetSeconds) };
      throw new HttpError(
        429,
        'rate_limited',
        `Too many requests: the limit is ${state.limit} per window; retry in ${state.resetSeconds} s`,
        undefined,
        retry,
      );
    }

    await next();
    // A stricter budget checked inside this one has already set its own, tighter headers.
    if (c.res.headers.has('RateLimit-Limit')) return;
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

/** Budgets belong to the authenticated owner, or else to the client address. */
export function budgetKey(c: Context): string {
  const principal = (c as Context<HostEnv>).get('principal');
  if (principal && principal.via !== 'anonymous') return `owner:${principal.owner}`;

  return `client:${(c as Context<HostEnv>).get('client')}`;
}

