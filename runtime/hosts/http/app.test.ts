import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { httpFunctions } from '../../../functions/index.js';
import { newRecord } from '../../../functions/lib/snapshot.js';
import { memoryDeps } from '../../../test/memory/deps.js';
import {
  type ErrorBody,
  maxBodyBytes,
  memoryHttpApp,
  readJson,
} from '../../../test/memory/http-app.js';
import { MemoryLogger } from '../../../test/memory/logger.js';
import { createHttpApp } from './app.js';
import type { Budget, RateLimiter, RateLimitState } from './rate-limit.js';

const exposedHeaders = [
  'Location',
  'X-Request-ID',
  'traceparent',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];

const preflightHeaders = {
  Origin: 'https://app.example',
  'Access-Control-Request-Method': 'POST',
  'Access-Control-Request-Headers': 'content-type, x-request-id',
};

function exposedOf(response: Response): string[] {
  const exposed = response.headers.get('access-control-expose-headers') ?? '';

  return exposed.split(',').map((name) => name.trim().toLowerCase());
}

function preflight(app: ReturnType<typeof memoryHttpApp>['app']) {
  return app.request('/v1/export', { method: 'OPTIONS', headers: preflightHeaders });
}

function postJson(body: string) {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body };
}

describe('wrong methods', () => {
  const cases: Array<[string, string, string]> = [
    ['GET', '/v1/export', 'POST, OPTIONS'],
    ['PUT', '/v1/export', 'POST, OPTIONS'],
    ['DELETE', `/v1/download/status/${randomUUID()}`, 'GET, HEAD, OPTIONS'],
    ['POST', `/v1/export/${randomUUID()}/progress`, 'GET, HEAD, OPTIONS'],
    ['GET', `/v1/export/${randomUUID()}/retry`, 'POST, OPTIONS'],
    ['POST', '/v1/exports', 'GET, HEAD, OPTIONS'],
    ['GET', '/v1/download/start', 'POST, OPTIONS'],
    ['POST', '/health', 'GET, HEAD, OPTIONS'],
  ];

  it.each(cases)('%s %s returns 405', async (method, path, allow) => {
    const { app } = memoryHttpApp();
    const response = await app.request(path, { method });
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('allow')).toBe(allow);
    expect(error.code).toBe('method_not_allowed');
    expect(error.message).toContain(method);
  });

  it('does not reject an allowed method', async () => {
    const { app } = memoryHttpApp();
    const response = await app.request('/v1/export/', postJson('{"file_ids":[10001]}'));
    await response.body?.cancel();

    expect(response.status).not.toBe(405);
  });
});

describe('unknown routes', () => {
  const unknownPaths = ['/v2/export', '/v1/export/a/b/c', '/favicon.ico'];

  it.each(unknownPaths)('returns 404 for %s', async (path) => {
    const { app } = memoryHttpApp();
    const response = await app.request(path);
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(error.code).toBe('not_found');
    expect(error.message).toContain(path);
  });

  it('sends no Allow on 404', async () => {
    const { app } = memoryHttpApp();
    const response = await app.request('/v2/export', { method: 'DELETE' });

    expect(response.headers.get('allow')).toBeNull();
  });
});

describe('CORS', () => {
  it('answers a preflight', async () => {
    const { app } = memoryHttpApp();
    const response = await preflight(app);

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-max-age')).toBe('600');
  });

  it.each(exposedHeaders)('exposes %s on a preflight', async (name) => {
    const { app } = memoryHttpApp();
    const response = await preflight(app);

    expect(exposedOf(response)).toContain(name.toLowerCase());
  });

  it.each(exposedHeaders)('exposes %s on a response', async (name) => {
    const { app } = memoryHttpApp();
    const response = await app.request('/', { headers: { Origin: 'https://app.example' } });

    expect(exposedOf(response)).toContain(name.toLowerCase());
  });

  it('allows any origin on errors', async () => {
    const { app } = memoryHttpApp();
    const response = await app.request('/v2/export', { headers: { Origin: 'https://a.example' } });

    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('security headers', () => {
  /** One request per kind of response: success, each error path and a stream. */
  type Send = (app: ReturnType<typeof memoryHttpApp>) => Response | Promise<Response>;
  const answers: Array<[string, Send]> = [
    ['200', ({ app }) => app.request('/')],
    ['202', ({ app }) => app.request('/v1/export', postJson('{"file_ids":[10001]}'))],
    ['400', ({ app }) => app.request('/v1/export', postJson('{"file_ids":[1]}'))],
    ['404', ({ app }) => app.request('/nowhere')],
    ['405', ({ app }) => app.request('/v1/export')],
    ['413', ({ app }) => app.request('/v1/export', postJson('x'.repeat(maxBodyBytes + 1)))],
    [
      '415',
      ({ app }) =>
        app.request('/v1/export', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: '{}',
        }),
    ],
    [
      '500',
      ({ app, deps }) => {
        deps.records.get = async () => {
          throw new Error('connection reset by peer');
        };
        return app.request(`/v1/export/${randomUUID()}`);
      },
    ],
    [
      'SSE',
      async ({ app, deps }) => {
        const exportId = randomUUID();
        await deps.records.create(newRecord(exportId, [10001], 3, new Date()));
        return app.request(`/v1/export/${exportId}/progress`);
      },
    ],
  ];

  it.each(answers)('are set on %s', async (_case, send) => {
    const response = await send(memoryHttpApp());
    await response.body?.cancel();

    expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(response.headers.get('x-frame-options')).toMatch(/^(DENY|SAMEORIGIN)$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it.each(answers)('carry X-Request-ID on %s', async (_case, send) => {
    const response = await send(memoryHttpApp());
    await response.body?.cancel();

    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('are set on a preflight', async () => {
    const { app } = memoryHttpApp();
    const response = await preflight(app);

    expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('request ids', () => {
  it('echoes a valid X-Request-ID', async () => {
    const { app } = memoryHttpApp();
    const headers = { 'X-Request-ID': 'client-42.a:b' };
    const response = await app.request('/nowhere', { headers });

    expect(response.headers.get('x-request-id')).toBe('client-42.a:b');
  });

  it.each(['has space', 'x'.repeat(129), 'semi;colon'])('replaces "%s"', async (sent) => {
    const { app } = memoryHttpApp();
    const response = await app.request('/', { headers: { 'X-Request-ID': sent } });

    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

/** A limiter that counts in memory with a fixed window, recording every call and budget hit. */
class CountingLimiter implements RateLimiter {
  readonly calls: Array<readonly Budget[]> = [];
  readonly hits: Array<{ budget: Budget; client: string }> = [];
  private readonly counts = new Map<string, number>();

  constructor(private readonly limits: { create: number; read: number }) {}

  async hit(budgets: readonly Budget[], client: string): Promise<RateLimitState[]> {
    this.calls.push(budgets);
    const states: RateLimitState[] = [];
    for (const budget of budgets) {
      this.hits.push({ budget, client });
      const count = (this.counts.get(`${budget}:${client}`) ?? 0) + 1;
      this.counts.set(`${budget}:${client}`, count);
      const limit = this.limits[budget];
      states.push({ limit, remaining: limit - count, resetSeconds: 42 });
      if (count > limit) break;
    }

    return states;
  }
}

function limitedApp(limits = { create: 2, read: 5 }) {
  const limiter = new CountingLimiter(limits);
  const deps = memoryDeps();
  const app = createHttpApp(httpFunctions, {
    deps,
    logger: new MemoryLogger(),
    maxBodyBytes,
    sseHeartbeatMs: 60_000,
    rateLimiter: limiter,
  });

  return { app, deps, limiter };
}

describe('rate limits', () => {
  it('sets RateLimit headers', async () => {
    const { app } = limitedApp();
    const response = await app.request('/');

    expect(response.headers.get('ratelimit-limit')).toBe('5');
    expect(response.headers.get('ratelimit-remaining')).toBe('4');
    expect(response.headers.get('ratelimit-reset')).toBe('42');
  });

  it('sets RateLimit headers on 404', async () => {
    const { app } = limitedApp();
    const response = await app.request('/nowhere');

    expect(response.headers.get('ratelimit-limit')).toBe('5');
  });

  it('returns 429 over the read budget', async () => {
    const { app } = limitedApp();
    for (let count = 0; count < 5; count++) await app.request('/');
    const response = await app.request('/');
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(429);
    expect(error.code).toBe('rate_limited');
    expect(response.headers.get('retry-after')).toBe('42');
    expect(response.headers.get('ratelimit-remaining')).toBe('0');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('shows the create budget on create routes', async () => {
    const { app } = limitedApp();
    const response = await app.request('/v1/export', postJson('{"file_ids":[10001]}'));

    expect(response.status).toBe(202);
    expect(response.headers.get('ratelimit-limit')).toBe('2');
    expect(response.headers.get('ratelimit-remaining')).toBe('1');
  });

  it('shows the budget closest to its limit', async () => {
    const { app } = limitedApp({ create: 5, read: 3 });
    await app.request('/');
    await app.request('/');
    const created = await app.request('/v1/export', postJson('{"file_ids":[10001]}'));
    const next = await app.request('/v1/export', postJson('{"file_ids":[10002]}'));

    // The read budget has no request left, so the headers must not promise four more.
    expect(created.status).toBe(202);
    expect(created.headers.get('ratelimit-remaining')).toBe('0');
    expect(created.headers.get('ratelimit-limit')).toBe('3');
    expect(next.status).toBe(429);
  });

  it('returns 429 over the create budget', async () => {
    const { app, deps } = limitedApp();
    for (let count = 0; count < 2; count++) {
      await app.request('/v1/download/initiate', postJson('{"file_ids":[10001]}'));
    }
    const response = await app.request('/v1/download/initiate', postJson('{"file_ids":[10001]}'));

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('42');
    expect(deps.queue.jobs).toHaveLength(2);
  });

  it('charges create routes both budgets', async () => {
    const { app, limiter } = limitedApp();
    await app.request('/v1/export', postJson('{"file_ids":[10001]}'));

    expect(limiter.hits.map((hit) => hit.budget).sort()).toEqual(['create', 'read']);
  });

  it('charges both budgets in one call', async () => {
    const { app, limiter } = limitedApp();
    await app.request('/v1/export', postJson('{"file_ids":[10001]}'));

    expect(limiter.calls).toEqual([['read', 'create']]);
  });

  it('skips the create budget past the read budget', async () => {
    const { app, limiter } = limitedApp({ create: 5, read: 1 });
    await app.request('/');
    const response = await app.request('/v1/export', postJson('{"file_ids":[10001]}'));

    expect(response.status).toBe(429);
    expect(response.headers.get('ratelimit-limit')).toBe('1');
    expect(limiter.hits.filter((hit) => hit.budget === 'create')).toHaveLength(0);
  });

  it('charges only reads on a wrong method', async () => {
    const { app, limiter } = limitedApp();
    await app.request('/v1/export', { method: 'PUT' });

    expect(limiter.calls).toEqual([['read']]);
  });

  it('charges reads one budget', async () => {
    const { app, limiter } = limitedApp();
    await app.request('/v1/files');

    expect(limiter.hits.map((hit) => hit.budget)).toEqual(['read']);
  });

  it('never limits /health', async () => {
    const { app, limiter } = limitedApp({ create: 1, read: 1 });
    await app.request('/');
    await app.request('/');
    const response = await app.request('/health');

    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-limit')).toBeNull();
    expect(limiter.hits.filter((hit) => hit.budget === 'read')).toHaveLength(2);
  });

  it('does not count preflights', async () => {
    const { app, limiter } = limitedApp();
    await preflight(app);

    expect(limiter.hits).toHaveLength(0);
  });
});
