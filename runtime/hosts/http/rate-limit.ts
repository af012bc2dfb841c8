/**
 * Request budgets per client, with the RateLimit headers (draft 6 names, which the older
 * clients read) on every response and 429 with Retry-After past the limit.
 */
import type { Context, MiddlewareHandler } from 'hono';

import { HttpError } from '../../contract/errors.js';
import type { HostEnv } from './observe.js';

/** A request budget: `read` covers every limited request, `create` only those creating work. */
export type Budget = 'create' | 'read';

/** A budget's state after one more request was counted. */
export interface RateLimitState {
  limit: number;
  /** Negative when this request went over the limit. */
  remaining: number;
  resetSeconds: number;
}

/** Counts requests in windows shared by every API process. */
export interface RateLimiter {
  /**
   * Counts one request in each of `budgets`, in order, and stops after the first budget the
   * request goes over, so later budgets are not charged. Returns the state of each budget
   * counted, in the same order.
   */
  hit(budgets: readonly Budget[], client: string): Promise<RateLimitState[]>;
}

/**
 * Counts the request in the budgets `budgetsOf` returns, widest first, and responds with 429
 * once the client is over one of them. The headers show the budget with the fewest requests
 * left, so that a client never reads a promise of more requests than it may send.
 */
export function limitRate(
  limiter: RateLimiter,
  budgetsOf: (c: Context<HostEnv>) => readonly Budget[],
  clientOf: (c: Context<HostEnv>) => string,
): MiddlewareHandler<HostEnv> {
  return async (c, next) => {
    const budgets = budgetsOf(c);
    if (budgets.length === 0) return next();

    const states = await limiter.hit(budgets, clientOf(c));
    const state = tightest(states);
    if (!state) throw new Error(`The rate limiter returned no state for ${budgets.join(', ')}`);

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

    // Set before the handler, so that Hono adds them to the response it builds. Setting them
    // on `c.res` afterwards made @hono/node-server build a full undici Response per request.
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    await next();
  };
}

/**
 * Returns the budget with the fewest requests left, which is the one that rejects first. A
 * budget the request went over is always the last one counted, and it is the tightest.
 */
function tightest(states: readonly RateLimitState[]): RateLimitState | undefined {
  let found: RateLimitState | undefined;
  for (const state of states) {
    if (!found || state.remaining <= found.remaining) found = state;
  }

  return found;
}

/** Budgets belong to the authenticated owner, or else to the client address. */
export function budgetKey(c: Context): string {
  const principal = (c as Context<HostEnv>).get('principal');
  if (principal && principal.via !== 'anonymous') return `owner:${principal.owner}`;

  return `client:${(c as Context<HostEnv>).get('client')}`;
}
