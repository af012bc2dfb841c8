import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';

import { responseHeaders } from './response-headers.js';

function appWithRoutes() {
  const app = new Hono();
  app.use(responseHeaders(['X-Request-ID']));
  app.get('/json', (c) => c.json({ ok: true }));
  // As a static file handler does: a Response of its own, not one built through the context.
  app.get('/raw', () => new Response('raw body', { headers: { 'content-type': 'text/plain' } }));

  return app;
}

describe('responseHeaders', () => {
  it.each(['/json', '/raw'])('sets security headers on %s', async (path) => {
    const response = await appWithRoutes().request(path);

    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it.each(['/json', '/raw'])('sets CORS headers on %s', async (path) => {
    const response = await appWithRoutes().request(path);

    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toBe('X-Request-ID');
  });

  it('keeps the handler headers of its own Response', async () => {
    const response = await appWithRoutes().request('/raw');

    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('raw body');
  });
});
