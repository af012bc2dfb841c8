/**
 * Request budgets against a real redis-server, through the real API: the RateLimit headers,
 * 429 past a budget, one budget shared by two API servers on the same Redis prefix, and
 * /health outside every budget. Each test sends X-Forwarded-For with an address of its own
 * (the API trusts its loopback peer), so every test starts with full budgets.
 */
import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { anonymousOwner } from '../../runtime/contract/define.js';
import { delay } from '../support/api.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { waitForRoomInWindow } from '../support/rate-window.js';
import { type RunningService, startService } from '../support/service.js';

const readLimit = 6;
const createLimit = 3;
/** Long, so that no test runs across the end of a window (see `waitForRoomInWindow`). */
const windowSeconds = 3_600;

const prefix = `test_rate_${randomBytes(6).toString('hex')}`;
const limits = {
  REDIS_PREFIX: prefix,
  RATE_LIMIT_READ: String(readLimit),
  RATE_LIMIT_CREATE: String(createLimit),
  RATE_LIMIT_WINDOW_SECONDS: String(windowSeconds),
};

let testServices: TestServices;
let first: RunningService;
let second: RunningService;
let nextClient = 1;

beforeAll(async () => {
  testServices = await startTestServices();
  first = await startService({ testServices, worker: false, env: limits });
  second = await startService({ testServices, worker: false, env: limits });
});

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await testServices?.stop();
});

interface ErrorBody {
  error: { code: string; message: string };
}

/** Returns a documentation address that no other test uses. */
function newClient(): string {
  const client = `198.51.100.${nextClient}`;
  nextClient += 1;

  return client;
}

function get(baseUrl: string, path: string, client: string): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { headers: { 'X-Forwarded-For': client } });
}

function initiate(baseUrl: string, client: string): Promise<Response> {
  return fetch(`${baseUrl}/v1/download/initiate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': client },
    body: JSON.stringify({ file_ids: [10_001] }),
  });
}

/** Sends `count` reads and returns their statuses, each body read to the end. */
async function spend(baseUrl: string, client: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) {
    const response = await get(baseUrl, '/', client);
    await response.arrayBuffer();
    statuses.push(response.status);
  }

  return statuses;
}

describe('RateLimit headers', () => {
  it('are set on an answer', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const response = await get(first.url, '/', newClient());
    await response.arrayBuffer();
    const reset = Number(response.headers.get('ratelimit-reset'));

    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-limit')).toBe(String(readLimit));
    expect(response.headers.get('ratelimit-remaining')).toBe(String(readLimit - 1));
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(windowSeconds);
  });

  it('count down per request', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    const remaining: string[] = [];
    for (let index = 0; index < 3; index++) {
      const response = await get(first.url, '/', client);
      await response.arrayBuffer();
      remaining.push(response.headers.get('ratelimit-remaining') ?? 'missing');
    }

    expect(remaining).toEqual(['5', '4', '3']);
  });

  it('are set on a 404', async () => {
    const response = await get(first.url, '/v1/nowhere', newClient());
    await response.arrayBuffer();

    expect(response.status).toBe(404);
    expect(response.headers.get('ratelimit-limit')).toBe(String(readLimit));
  });

  it('show the create budget on creates', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const response = await initiate(first.url, newClient());
    await response.arrayBuffer();

    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-limit')).toBe(String(createLimit));
    expect(response.headers.get('ratelimit-remaining')).toBe(String(createLimit - 1));
  });

  it('keep counters under the prefix', async () => {
    const client = newClient();
    const response = await get(first.url, '/', client);
    await response.arrayBuffer();
    const redis = new Redis(testServices.redisUrl);
    try {
      const all = await redis.keys(`${prefix}:rate:*`);
      const keys = all.filter((key) => key.includes(':read:') && key.includes(client));
      const ttl = await redis.pttl(keys[0] ?? 'missing');

      expect(keys).toHaveLength(1);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(windowSeconds * 1_000);
    } finally {
      redis.disconnect();
    }
  });
});

describe('over the limit', () => {
  it('returns 429 past the read budget', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    const statuses = await spend(first.url, client, readLimit);
    const response = await get(first.url, '/', client);
    const body = (await response.json()) as ErrorBody;

    expect(statuses).toEqual(Array.from({ length: readLimit }, () => 200));
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain(String(readLimit));
  });

  it('sends Retry-After with the 429', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    await spend(first.url, client, readLimit);
    const response = await get(first.url, '/', client);
    await response.arrayBuffer();
    const retryAfter = Number(response.headers.get('retry-after'));

    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
    expect(response.headers.get('ratelimit-reset')).toBe(String(retryAfter));
    expect(response.headers.get('ratelimit-remaining')).toBe('0');
    expect(response.headers.get('ratelimit-limit')).toBe(String(readLimit));
  });

  it('keeps the usual headers on a 429', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    await spend(first.url, client, readLimit);
    const headers = {
      'X-Forwarded-For': client,
      'X-Request-ID': 'rate-test-1',
      Origin: 'https://a.example',
    };
    const response = await fetch(`${first.url}/`, { headers });
    await response.arrayBuffer();

    expect(response.status).toBe(429);
    expect(response.headers.get('x-request-id')).toBe('rate-test-1');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('returns 429 past the create budget', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    const before = await first.services.deps.records.listByOwner(anonymousOwner, { limit: 1000 });
    const statuses: number[] = [];
    for (let index = 0; index < createLimit + 1; index++) {
      const response = await initiate(first.url, client);
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    const after = await first.services.deps.records.listByOwner(anonymousOwner, { limit: 1000 });

    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(after.length - before.length).toBe(createLimit);
  });

  it('keeps reads open past the create budget', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    for (let index = 0; index < createLimit + 1; index++) {
      await (await initiate(first.url, client)).arrayBuffer();
    }
    const response = await get(first.url, '/', client);
    await response.arrayBuffer();

    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-remaining')).toBe(String(readLimit - createLimit - 2));
  });

  it('keeps budgets per client', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    await spend(first.url, newClient(), readLimit + 1);
    const response = await get(first.url, '/', newClient());
    await response.arrayBuffer();

    expect(response.status).toBe(200);
  });
});

describe('two API servers', () => {
  it('share one read budget', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    const remaining: string[] = [];
    for (let index = 0; index < readLimit; index++) {
      const server = index % 2 === 0 ? first : second;
      const response = await get(server.url, '/', client);
      await response.arrayBuffer();
      remaining.push(response.headers.get('ratelimit-remaining') ?? 'missing');
    }
    const overFirst = await get(first.url, '/', client);
    const overSecond = await get(second.url, '/', client);
    await Promise.all([overFirst.arrayBuffer(), overSecond.arrayBuffer()]);

    expect(remaining).toEqual(['5', '4', '3', '2', '1', '0']);
    expect(overFirst.status).toBe(429);
    expect(overSecond.status).toBe(429);
  });

  it('share one create budget', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    const statuses: number[] = [];
    for (const server of [first, second, first, second]) {
      const response = await initiate(server.url, client);
      await response.arrayBuffer();
      statuses.push(response.status);
    }

    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('GET /health', () => {
  it('is never limited', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    await spend(first.url, client, readLimit + 1);
    const statuses: number[] = [];
    for (let index = 0; index < readLimit * 2; index++) {
      const response = await get(first.url, '/health', client);
      await response.arrayBuffer();
      statuses.push(response.status);
    }

    expect(statuses).toEqual(Array.from({ length: readLimit * 2 }, () => 200));
  });

  it('costs no budget', async () => {
    await waitForRoomInWindow(windowSeconds, 10_000);
    const client = newClient();
    for (let index = 0; index < readLimit * 2; index++) {
      await (await get(first.url, '/health', client)).arrayBuffer();
    }
    const response = await get(first.url, '/', client);
    await response.arrayBuffer();

    expect(response.headers.get('ratelimit-remaining')).toBe(String(readLimit - 1));
  });

  it('carries no RateLimit headers', async () => {
    const response = await get(first.url, '/health', newClient());
    await response.arrayBuffer();

    expect(response.headers.get('ratelimit-limit')).toBeNull();
  });
});

describe('untrusted peers', () => {
  const shortWindowSeconds = 2;
  let untrusting: RunningService;

  beforeAll(async () => {
    untrusting = await startService({
      testServices,
      worker: false,
      env: {
        RATE_LIMIT_READ: '2',
        RATE_LIMIT_CREATE: '1',
        RATE_LIMIT_WINDOW_SECONDS: String(shortWindowSeconds),
        // The test's loopback peer is not in this range, so X-Forwarded-For is ignored.
        TRUSTED_PROXIES: '10.0.0.0/8',
      },
    });
  });

  afterAll(async () => {
    await untrusting?.stop();
  });

  it('cannot pick a fresh budget', async () => {
    await waitForRoomInWindow(shortWindowSeconds, 1_500);
    const statuses: number[] = [];
    for (const client of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      const response = await get(untrusting.url, '/', client);
      await response.arrayBuffer();
      statuses.push(response.status);
    }

    expect(statuses).toEqual([200, 200, 429]);
  });

  it('gets a new budget after the window', async () => {
    await waitForRoomInWindow(shortWindowSeconds, 1_500);
    await spend(untrusting.url, '192.0.2.1', 3);
    const over = await get(untrusting.url, '/', '192.0.2.1');
    await over.arrayBuffer();
    await delay(Number(over.headers.get('retry-after')) * 1_000 + 50);
    const response = await get(untrusting.url, '/', '192.0.2.1');
    await response.arrayBuffer();

    expect(over.status).toBe(429);
    expect(response.status).toBe(200);
  });
});
