/**
 * Requests without valid credentials, through nginx in front of the real service with
 * authentication on: every endpoint but the public ones returns 401 with WWW-Authenticate, the
 * public ones still work, and nginx does not expose the API's /metrics.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpFunctions } from '../../functions/index.js';
import {
  readError,
  type SecureStack,
  send,
  type SendOptions,
  startSecureStack,
} from './secure-stack.js';

let stack: SecureStack;
let nginxUrl: string;
let key: string;

beforeAll(async () => {
  stack = await startSecureStack({ nginx: {}, worker: false });
  nginxUrl = stack.nginx!.url;
  key = await stack.createKey('dana');
});

afterAll(async () => {
  await stack?.stop();
});

const exportId = randomUUID();

/** Every endpoint that needs credentials: method, path template and a valid body. */
const protectedEndpoints: Array<[string, string, unknown]> = [
  ['POST', '/v1/export', { file_ids: [10_001] }],
  ['GET', '/v1/export/:id', undefined],
  ['DELETE', '/v1/export/:id', undefined],
  ['GET', '/v1/export/:id/progress', undefined],
  ['GET', '/v1/export/:id/download', undefined],
  ['POST', '/v1/export/:id/retry', undefined],
  ['GET', '/v1/exports', undefined],
  ['GET', '/v1/exports/progress', undefined],
  ['POST', '/v1/tokens', undefined],
  ['GET', '/v1/files', undefined],
  ['POST', '/v1/download/initiate', { file_ids: [10_001] }],
  ['GET', '/v1/download/status/:id', undefined],
  ['GET', '/v1/download/subscribe/:id', undefined],
  ['POST', '/v1/download/check', { file_id: 10_001 }],
  ['POST', '/v1/download/start', { file_id: 10_001 }],
];

function pathOf(template: string): string {
  const path = template.replace(':id', exportId);

  return path === '/v1/exports/progress' ? `${path}?ids=${exportId}` : path;
}

async function sendTo(template: string, method: string, body: unknown, options: SendOptions) {
  return send(nginxUrl, pathOf(template), { method, body, ...options });
}

describe('without credentials', () => {
  it('covers every protected endpoint', () => {
    const mounted = httpFunctions
      .filter((fn) => (fn.access ?? 'key') !== 'public')
      .flatMap((fn) => fn.paths.map((path) => `${fn.method} ${path}`));
    const tested = protectedEndpoints.map(([method, path]) => `${method} ${path}`);

    expect(tested.sort()).toEqual(mounted.sort());
  });

  it.each(protectedEndpoints)('%s %s returns 401', async (method, template, body) => {
    const response = await sendTo(template, method, body, {});
    const error = await readError(response);

    expect(response.status).toBe(401);
    expect(error.code).toBe('unauthorized');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="export-service"');
  });
});

describe('with a wrong key', () => {
  it.each(protectedEndpoints)('%s %s returns 401', async (method, template, body) => {
    const response = await sendTo(template, method, body, { key: `exk_${'A'.repeat(43)}` });
    await response.body?.cancel();

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it.each([
    ['Basic', `Basic ${Buffer.from('dana:secret').toString('base64')}`],
    ['an empty bearer', 'Bearer '],
    ['two keys', 'Bearer a b'],
  ])('rejects %s', async (_case, authorization) => {
    const response = await send(nginxUrl, '/v1/files', {
      headers: { Authorization: authorization },
    });
    await response.body?.cancel();

    expect(response.status).toBe(401);
  });

  it('rejects a revoked key', async () => {
    const revoked = await stack.createKey('dana');
    const before = await send(nginxUrl, '/v1/files', { key: revoked });
    await before.body?.cancel();
    await stack.revokeKey(revoked);
    const after = await send(nginxUrl, '/v1/files', { key: revoked });
    await after.body?.cancel();

    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
  });

  it('accepts the key of the owner', async () => {
    const response = await send(nginxUrl, '/v1/files', { key });
    await response.body?.cancel();

    expect(response.status).toBe(200);
  });
});

describe('public endpoints', () => {
  it('serves /health', async () => {
    const response = await send(nginxUrl, '/health');
    await response.body?.cancel();

    expect(response.status).toBe(200);
  });

  it('serves GET /', async () => {
    const response = await send(nginxUrl, '/');
    const body = (await response.json()) as { message: string };

    expect(response.status).toBe(200);
    expect(body.message).toBe('Hello Hono!');
  });

  it('serves the web page', async () => {
    const response = await send(nginxUrl, '/app/');
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('<script type="module"');
  });

  it('redirects /app to the page', async () => {
    const response = await send(nginxUrl, '/app');
    await response.body?.cancel();

    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('/app/');
  });

  it('allows a CORS preflight', async () => {
    const response = await send(nginxUrl, '/v1/export', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
    });
    await response.body?.cancel();

    expect(response.status).toBe(204);
  });
});

describe('metrics', () => {
  const spellings = [
    '/metrics',
    '//metrics',
    '/%6Detrics',
    '/./metrics',
    '/metrics?x=1',
    '/metrics/',
    '/METRICS',
  ];

  // No telemetry runs in the test process, so the API's /metrics returns 503 "Telemetry is
  // not started". What matters here is that it responds without a key.
  it('reach the API without a key', async () => {
    const response = await send(stack.apiUrl, '/metrics');
    const text = await response.text();

    expect(response.status).toBe(503);
    expect(text).toContain('Telemetry');
  });

  it.each(spellings)('are not served through nginx at %s', async (path) => {
    const response = await fetch(`${nginxUrl}${path}`);
    const text = await response.text();

    expect(response.status).toBe(404);
    expect(text).not.toContain('Telemetry');
  });

  it.each(['HEAD', 'POST'])('are not served through nginx for %s', async (method) => {
    const response = await fetch(`${nginxUrl}/metrics`, { method });
    await response.body?.cancel();

    expect(response.status).toBe(404);
  });
});
