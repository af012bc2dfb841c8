/** Options of the HTTP host. */
import type { BlockList } from 'node:net';

import type { Context, Hono } from 'hono';

import type { Logger } from '../../contract/define.js';
import type { AuthOptions } from './auth.js';
import type { RateLimiter } from './rate-limit.js';

/** Options of the HTTP host. */
export interface HttpHostOptions {
  /** One object holding every dependency any mounted function declares. */
  deps: unknown;
  logger: Logger;
  maxBodyBytes: number;
  sseHeartbeatMs: number;
  /** Host-level GET routes that are not functions, such as `/metrics`; always public. */
  extraRoutes?: ReadonlyArray<{ path: string; handler: (c: Context) => Response | Promise<Response> }>;
  /** Request budgets; unset means no limits, as in unit tests. */
  rateLimiter?: RateLimiter;
  /** Peers whose X-Forwarded-For is believed; unset trusts none. */
  trustedProxies?: BlockList;
  /** Aborted when the process starts stopping: SSE clients are sent a reconnect event. */
  shutdown?: AbortSignal;
  /** API keys and read tokens; unset turns authentication off. */
  auth?: AuthOptions;
  /** Operator apps such as the queue dashboard; with authentication on, admins only. */
  adminApps?: ReadonlyArray<{ path: string; app: Hono }>;
  /** Owners whose API keys open the admin apps. */
  adminOwners?: readonly string[];
  /** Returns the socket peer's address; defaults to Node's socket, for @hono/node-server. */
  peerAddress?: (c: Context) => string | undefined;
}

