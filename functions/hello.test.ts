import { describe, expect, it } from 'vitest';

import { type ErrorBody, memoryHttpApp, readJson } from '../test/memory/http-app.js';

describe('GET /', () => {
  it('returns the greeting', async () => {
    const { app } = memoryHttpApp();
    const response = await app.request('/');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({ message: 'Hello Hono!' });
  });

  it('answers HEAD without a body', async () => {
    const { app } = memoryHttpApp();
    const response = await app.request('/', { method: 'HEAD' });

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('returns 405 for POST', async () => {
    const { app } = memoryHttpApp();
    const response = await app.request('/', { method: 'POST' });
    const { error } = await readJson<ErrorBody>(response);

    expect(response.status).toBe(405);
    expect(error.code).toBe('method_not_allowed');
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});
