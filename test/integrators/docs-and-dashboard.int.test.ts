/**
 * The docs page, the OpenAPI document and the queue dashboard on the real API: what they serve,
 * that the docs page loads nothing from another host, and who may open the dashboard.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { runInNewContext } from 'node:vm';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpFunctions } from '../../functions/index.js';
import { buildOpenApi } from '../../runtime/openapi.js';
import { createExport, waitForEnd } from '../support/api.js';
import { generousLimits } from '../support/generous-limits.js';
import { startTestServices, type TestServices } from '../support/local-services.js';
import { type RunningService, startService } from '../support/service.js';

/** The part of Bull Board's GET /admin/queues/api/queues response that the tests read. */
interface BoardQueues {
  queues: Array<{
    name: string;
    counts: Record<string, number>;
    jobs: Array<{ id: string; name: string }>;
  }>;
}

const assetTypes: Record<string, string> = {
  '/docs/assets/swagger-ui.css': 'text/css; charset=utf-8',
  '/docs/assets/swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  '/docs/assets/init.js': 'text/javascript; charset=utf-8',
};

let testServices: TestServices;

beforeAll(async () => {
  testServices = await startTestServices();
});

afterAll(async () => {
  await testServices?.stop();
});

describe('docs without authentication', () => {
  let service: RunningService;
  let page: Response;
  let html: string;

  beforeAll(async () => {
    service = await startService({ testServices, worker: false });
    page = await fetch(`${service.url}/docs`);
    html = await page.text();
  });

  afterAll(async () => {
    await service?.stop();
  });

  describe('GET /openapi.json', () => {
    let response: Response;
    let served: { openapi: string; info: { version: string } };

    beforeAll(async () => {
      response = await fetch(`${service.url}/openapi.json`);
      served = (await response.json()) as typeof served;
    });

    it('returns 200', () => {
      expect(response.status).toBe(200);
    });

    it('is JSON', () => {
      expect(response.headers.get('content-type')).toBe('application/json');
    });

    it('is the built document', () => {
      const built = JSON.parse(JSON.stringify(buildOpenApi(httpFunctions, served.info.version)));
      expect(served).toEqual(built);
    });
  });

  describe('GET /docs', () => {
    it('returns 200', () => {
      expect(page.status).toBe(200);
    });

    it('is HTML', () => {
      expect(page.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8$/i);
    });

    it('loads only its own assets', () => {
      const references = referencesOf(html);
      expect(references.length).toBeGreaterThan(0);
      for (const reference of references) expect(reference).toMatch(/^\/docs\/assets\/[\w.-]+$/);
    });

    it('names no other host', () => {
      expect(html).not.toMatch(/\/\/|https?:/);
    });
  });

  describe('docs assets', () => {
    it.each(Object.entries(assetTypes))('serves %s', async (path, contentType) => {
      const response = await fetch(`${service.url}${path}`);
      await response.arrayBuffer();

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(contentType);
    });

    it('covers every asset of the page', () => {
      expect(referencesOf(html).sort()).toEqual(Object.keys(assetTypes).sort());
    });

    it('returns 404 for others', async () => {
      const response = await fetch(`${service.url}/docs/assets/package.json`);
      await response.arrayBuffer();
      expect(response.status).toBe(404);
    });
  });

  describe('Swagger UI settings', () => {
    let settings: Record<string, unknown>;

    beforeAll(async () => {
      const script = await (await fetch(`${service.url}/docs/assets/init.js`)).text();
      settings = swaggerSettingsOf(script);
    });

    it('reads /openapi.json', () => {
      expect(settings.url).toBe('/openapi.json');
    });

    it('turns off the online validator', () => {
      expect([null, 'none']).toContain(settings.validatorUrl);
    });
  });
});

describe('queue dashboard without authentication', () => {
  let service: RunningService;
  let failedId: string;
  let board: BoardQueues;
  let failedList: BoardQueues;

  beforeAll(async () => {
    service = await startService({ testServices, env: generousLimits });
    await service.putSource(96_701, randomBytes(1_000));
    const completed = await createExport(service.url, [96_701]);
    await waitForEnd(service.url, completed.body.jobId);
    // No source for this id, so the export fails at once and its job stays in the failed set.
    failedId = (await createExport(service.url, [96_799])).body.jobId;
    await waitForEnd(service.url, failedId);

    board = await readBoard(service, '/admin/queues/api/queues');
    failedList = await readBoard(
      service,
      '/admin/queues/api/queues?activeQueue=exports&status=failed&page=1&jobsPerPage=10',
    );
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('serves the page', async () => {
    const response = await fetch(`${service.url}/admin/queues`);
    await response.arrayBuffer();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('lists the exports queue', () => {
    expect(board.queues.map((queue) => queue.name)).toEqual(['exports']);
  });

  it('counts the failed job', () => {
    expect(board.queues[0]!.counts.failed).toBe(1);
  });

  it('counts no waiting job', () => {
    expect(board.queues[0]!.counts.waiting).toBe(0);
  });

  it('lists the failed export', () => {
    const jobs = failedList.queues[0]!.jobs;
    expect(jobs.map((job) => job.id)).toEqual([failedId]);
    expect(jobs[0]!.name).toBe('build-export');
  });
});

describe('dashboard with authentication', () => {
  let service: RunningService;
  let adminKey: string;
  let aliceKey: string;

  beforeAll(async () => {
    service = await startService({
      testServices,
      worker: false,
      env: { AUTH_ENABLED: 'true', READ_TOKEN_SECRET: randomBytes(32).toString('hex') },
    });
    adminKey = await service.services.apiKeys.create('admin');
    aliceKey = await service.services.apiKeys.create('alice');
  });

  afterAll(async () => {
    await service?.stop();
  });

  describe.each(['/admin/queues', '/admin/queues/api/queues'])('%s', (path) => {
    it('returns 401 without a key', async () => {
      const response = await get(service, path);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="export-service"');
    });

    it('returns 403 for other owners', async () => {
      const response = await get(service, path, { Authorization: `Bearer ${aliceKey}` });
      expect(response.status).toBe(403);
    });

    it('returns 200 for an admin', async () => {
      const response = await get(service, path, { Authorization: `Bearer ${adminKey}` });
      expect(response.status).toBe(200);
    });

    it('returns 401 for a read token', async () => {
      const token = await issueToken(service, adminKey);
      const response = await get(service, path, { 'X-Read-Token': token });
      expect(response.status).toBe(401);
    });

    it('returns 401 for a wrong key', async () => {
      const response = await get(service, path, { Authorization: 'Bearer exk_wrong' });
      expect(response.status).toBe(401);
    });
  });

  // fetch() would resolve dot segments, so these go out verbatim over node:http.
  it.each(['/admin/queues/', '/admin/%71ueues/api/queues', '/x/../admin/queues/api/queues'])(
    'returns 401 on %s',
    async (path) => {
      const status = await statusOfRawGet(service, path);
      expect(status).toBe(401);
    },
  );

  const publicPaths = ['/openapi.json', '/docs', ...Object.keys(assetTypes)];

  it.each(publicPaths)('keeps %s public', async (path) => {
    const response = await get(service, path);
    expect(response.status).toBe(200);
  });
});

/** Returns the `src` and `href` values of `html`. */
function referencesOf(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((match) => match[1]!);
}

/** Runs the docs page's init script against a stand-in SwaggerUIBundle and returns its settings. */
function swaggerSettingsOf(script: string): Record<string, unknown> {
  let settings: Record<string, unknown> | undefined;
  const SwaggerUIBundle = (options: Record<string, unknown>) => {
    settings = options;
  };
  runInNewContext(script, { window: { SwaggerUIBundle } });
  if (!settings) throw new Error('init.js did not call SwaggerUIBundle');

  return settings;
}

async function get(service: RunningService, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.url}${path}`, { headers });
  await response.arrayBuffer();

  return response;
}

/** Sends `GET path` without normalizing the path, and returns the status. */
function statusOfRawGet(service: RunningService, path: string): Promise<number> {
  const { hostname, port } = new URL(service.url);

  return new Promise((resolve, reject) => {
    const sent = request({ host: hostname, port, path, method: 'GET' }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    sent.on('error', reject);
    sent.end();
  });
}

async function readBoard(service: RunningService, path: string): Promise<BoardQueues> {
  const response = await fetch(`${service.url}${path}`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path} returned ${response.status}: ${text}`);

  return JSON.parse(text) as BoardQueues;
}

async function issueToken(service: RunningService, key: string): Promise<string> {
  const response = await fetch(`${service.url}/v1/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}` },
  });
  const text = await response.text();
  if (response.status !== 201) {
    throw new Error(`POST /v1/tokens returned ${response.status}, expected 201: ${text}`);
  }

  return (JSON.parse(text) as { token: string }).token;
}
