/**
 * One conformance suite for every HTTP host: the Hono server in-process, and the Lambda host
 * behind API Gateway (payload format 2.0), a buffered Function URL and a streaming one. Each
 * case is written once and runs on every host through its driver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { createExport } from '../../functions/create-export.js';
import { health } from '../../functions/health.js';
import { httpFunctions } from '../../functions/index.js';
import type { AnyHttpFunction } from '../../runtime/contract/define.js';
import { createLambdaHttpHandler } from '../../runtime/hosts/lambda/http-handler.js';
import { memoryDeps } from '../memory/deps.js';
import { MemoryLogger } from '../memory/logger.js';
import { type HostRequest, type HttpHostDriver, httpHostDrivers } from '../support/http-drivers.js';
import { fakeLambdaContext, loadLambdaFixture } from '../support/lambda-events.js';
import { installStreamingRuntime } from '../support/lambda-stream-runtime.js';
import {
  conformanceHttpFunctions,
  type SignalProbeDeps,
  type ThrownErrorKind,
  twoFrames,
} from './test-functions.js';

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Small enough that a test body can exceed it without a large string. */
const maxBodyBytes = 4_096;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let uninstallRuntime: () => void;
beforeAll(() => {
  uninstallRuntime = installStreamingRuntime();
});
afterAll(() => uninstallRuntime());

/** Mounts the test functions, `/health` and `POST /v1/export` on `driver` with fresh deps. */
function mount(driver: HttpHostDriver, extra: readonly AnyHttpFunction[] = []) {
  const deps = { ...memoryDeps(), signals: [] as SignalProbeDeps['signals'] };
  const logger = new MemoryLogger();
  const functions = [...conformanceHttpFunctions, health, createExport, ...extra];
  const send = driver.mount(functions, { deps, logger, maxBodyBytes, sseHeartbeatMs: 60_000 });

  return { send, deps, logger };
}

function postJson(path: string, body: unknown, headers: Record<string, string> = {}): HostRequest {
  const text = typeof body === 'string' ? body : JSON.stringify(body);

  const allHeaders = { 'content-type': 'application/json', ...headers };

  return { method: 'POST', path, headers: allHeaders, body: text };
}

async function errorOf(response: Response): Promise<ErrorBody['error']> {
  return ((await response.json()) as ErrorBody).error;
}

describe.each(httpHostDrivers)('$name', (driver) => {
  describe('status mapping', () => {
    it('returns 200 from health', async () => {
      const { send } = mount(driver);
      const response = await send({ method: 'GET', path: '/health' });
      const body = (await response.json()) as { status: string };

      expect(response.status).toBe(200);
      expect(body.status).toBe('healthy');
    });

    it('returns 202 with Location', async () => {
      const { send } = mount(driver);
      const response = await send(postJson('/v1/export', { file_ids: [70000, 70001] }));
      const body = (await response.json()) as { jobId: string };

      expect(response.status).toBe(202);
      expect(response.headers.get('location')).toBe(`/v1/export/${body.jobId}`);
    });

    it('passes a function status through', async () => {
      const { send, deps } = mount(driver);
      deps.redis = { ping: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
      const response = await send({ method: 'GET', path: '/health' });
      const body = (await response.json()) as { status: string };

      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(body.status).toBe('unhealthy');
    });

    it('passes function headers through', async () => {
      const { send } = mount(driver);
      const response = await send(postJson('/conformance/echo/item-1', { count: 2 }));

      expect(response.status).toBe(202);
      expect(response.headers.get('location')).toBe('/conformance/echo/item-1/1');
    });
  });

  describe('error mapping', () => {
    it('keeps an HttpError as thrown', async () => {
      const { send } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/teapot' });
      const body = (await response.json()) as ErrorBody;

      expect(response.status).toBe(418);
      expect(response.headers.get('x-brew')).toBe('tea');
      expect(body).toEqual({
        error: { code: 'teapot', message: 'This endpoint brews tea only', field: 'kettle' },
      });
    });

    const outages: ThrownErrorKind[] = ['storage-unavailable', 'redis-down'];

    it.each(outages)('maps %s to 503', async (kind) => {
      const { send, logger } = mount(driver);
      const response = await send({ method: 'GET', path: `/conformance/throw/${kind}` });
      const body = (await response.json()) as ErrorBody;

      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(Object.keys(body.error)).toEqual(['code', 'message']);
      expect(body.error.code).toBe('unavailable');
      expect(logger.at('error')).toHaveLength(0);
    });

    it.each<ThrownErrorKind>(['plain', 'permanent', 'storage-denied'])(
      'maps %s to 500',
      async (kind) => {
        const { send } = mount(driver);
        const response = await send({ method: 'GET', path: `/conformance/throw/${kind}` });
        const body = (await response.json()) as ErrorBody;

        expect(response.status).toBe(500);
        expect(body).toEqual({
          error: { code: 'internal', message: 'The server failed to handle the request' },
        });
      },
    );

    it('logs an unexpected error once', async () => {
      const { send, logger } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/throw/plain' });
      await response.body?.cancel();
      const [line, ...others] = logger.at('error');
      const err = line?.fields.err as Error | undefined;

      expect(others).toHaveLength(0);
      expect(err?.message).toBe('conformance: a bug in a handler');
      expect(line?.fields.path).toBe('/conformance/throw/plain');
    });

    it('rejects invalid input with 400', async () => {
      const { send } = mount(driver);
      const response = await send(postJson('/v1/export', { file_ids: ['70000'] }));
      const error = await errorOf(response);

      expect(response.status).toBe(400);
      expect(error.code).toBe('invalid_request');
      expect(error.field).toBe('file_ids[0]');
    });

    it('names a bad path parameter', async () => {
      const { send } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/throw/unknown' });
      const error = await errorOf(response);

      expect(response.status).toBe(400);
      expect(error.field).toBe('kind');
    });

    it('names an unknown body field', async () => {
      const { send } = mount(driver);
      const request = postJson('/conformance/echo/item-1', { count: 1, colour: 'red' });
      const response = await send(request);
      const error = await errorOf(response);

      expect(response.status).toBe(400);
      expect(error.field).toBe('colour');
    });

    it('rejects malformed JSON with 400', async () => {
      const { send } = mount(driver);
      const response = await send(postJson('/v1/export', '{"file_ids": [70000'));
      const error = await errorOf(response);

      expect(response.status).toBe(400);
      expect(error.code).toBe('invalid_json');
    });

    it('rejects a non-JSON body with 415', async () => {
      const { send } = mount(driver);
      const request = postJson('/v1/export', 'file_ids=70000', { 'content-type': 'text/plain' });
      const response = await send(request);
      const error = await errorOf(response);

      expect(response.status).toBe(415);
      expect(error.code).toBe('unsupported_media_type');
      expect(error.field).toBe('Content-Type');
    });

    it('rejects a large body with 413', async () => {
      const { send } = mount(driver);
      const note = 'x'.repeat(maxBodyBytes + 1);
      const response = await send(postJson('/conformance/echo/item-1', { count: 1, note }));
      const error = await errorOf(response);

      expect(response.status).toBe(413);
      expect(error.code).toBe('payload_too_large');
    });

    it('returns JSON 404 for unknown routes', async () => {
      const { send } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/missing' });
      const error = await errorOf(response);

      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(error.code).toBe('not_found');
    });

    it('returns 405 with Allow', async () => {
      const { send } = mount(driver);
      const response = await send(postJson('/health', {}));
      const error = await errorOf(response);

      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect(error.code).toBe('method_not_allowed');
    });
  });

  describe('request mapping', () => {
    it('echoes X-Request-ID', async () => {
      const { send } = mount(driver);
      const headers = { 'x-request-id': 'conformance-request-7' };
      const response = await send({ method: 'GET', path: '/conformance/echo', headers });
      const body = (await response.json()) as { requestId: string };

      expect(response.headers.get('x-request-id')).toBe('conformance-request-7');
      expect(body.requestId).toBe('conformance-request-7');
    });

    it('generates a missing request id', async () => {
      const { send } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/echo' });
      const body = (await response.json()) as { requestId: string };

      expect(response.headers.get('x-request-id')).toMatch(uuidPattern);
      expect(body.requestId).toBe(response.headers.get('x-request-id'));
    });

    it('decodes the query string', async () => {
      const { send } = mount(driver);
      const query = { mode: 'fast', tag: 'a b&c=d' };
      const response = await send({ method: 'GET', path: '/conformance/echo', query });
      const body = (await response.json()) as { query: Record<string, string> };

      expect(response.status).toBe(200);
      expect(body.query).toEqual({ mode: 'fast', tag: 'a b&c=d' });
    });

    it('validates the query string', async () => {
      const { send } = mount(driver);
      const query = { mode: 'sideways' };
      const response = await send({ method: 'GET', path: '/conformance/echo', query });
      const error = await errorOf(response);

      expect(response.status).toBe(400);
      expect(error.field).toBe('mode');
    });

    it('decodes a base64 body', async () => {
      const { send } = mount(driver);
      const json = postJson('/conformance/echo/item-2', { count: 3, note: 'ünï' });
      const request = { ...json, base64Body: true };
      const response = await send(request);
      const body = (await response.json()) as { item: string; count: number; note: string };

      expect(response.status).toBe(202);
      expect(body).toMatchObject({ item: 'item-2', count: 3, note: 'ünï' });
    });

    it('passes the anonymous owner', async () => {
      const { send } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/echo' });
      const body = (await response.json()) as { owner: string };

      expect(body.owner).toBe('anonymous');
    });

    it('logs one line per request', async () => {
      const { send, logger } = mount(driver);
      const headers = { 'x-request-id': 'conformance-request-8' };
      const response = await send({ method: 'GET', path: '/health', headers });
      await response.body?.cancel();
      const handled = logger.lines.filter((line) => line.message === 'Request handled');

      expect(handled).toHaveLength(1);
      expect(handled[0]?.fields).toMatchObject({ requestId: 'conformance-request-8', status: 200 });
    });
  });

  describe('abort handling', () => {
    it('passes an AbortSignal', async () => {
      const { send, deps } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/signal' });
      const body = (await response.json()) as { abortedDuringHandler: boolean };

      expect(deps.signals[0]).toBeInstanceOf(AbortSignal);
      expect(body.abortedDuringHandler).toBe(false);
    });

    it('aborts the signal after responding', async () => {
      const { send, deps } = mount(driver);
      const response = await send({ method: 'GET', path: '/conformance/signal' });
      await response.body?.cancel();

      expect(deps.signals[0]?.aborted).toBe(true);
    });
  });
});

describe('Server-Sent Events', () => {
  const buffered = httpHostDrivers.filter((driver) => !driver.streams);
  const streaming = httpHostDrivers.filter((driver) => driver.streams);

  it.each(buffered)('$name rejects SSE functions', (driver) => {
    expect(() => mount(driver, [twoFrames])).toThrow('conformance-stream (/conformance/stream)');
  });

  it.each(streaming)('$name streams SSE frames', async (driver) => {
    const { send } = mount(driver, [twoFrames]);
    const response = await send({ method: 'GET', path: '/conformance/stream' });
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(text).toContain('event: progress\ndata: {"step":1}\nid: 1');
    expect(text).toContain('event: completed\ndata: {"step":2}\nid: 2');
  });
});

describe('Lambda HTTP deployment', () => {
  const options = () => ({
    deps: memoryDeps(),
    logger: new MemoryLogger(),
    maxBodyBytes,
    sseHeartbeatMs: 60_000,
  });
  const sseFunctions = httpFunctions.filter((fn) => fn.kind === 'sse');

  it.each(sseFunctions)('buffered host names $name', (fn) => {
    const buffered = { ...options(), responseStreaming: false };
    const build = () => createLambdaHttpHandler(httpFunctions, buffered);

    expect(build).toThrow(`${fn.name} (${fn.paths.join(', ')})`);
  });

  it('buffered host takes the rest', () => {
    const functions = httpFunctions.filter((fn) => fn.kind !== 'sse');
    const buffered = { ...options(), responseStreaming: false };
    const build = () => createLambdaHttpHandler(functions, buffered);

    expect(build).not.toThrow();
  });

  it('streaming host takes them all', () => {
    const streaming = { ...options(), responseStreaming: true };
    const build = () => createLambdaHttpHandler(httpFunctions, streaming);

    expect(build).not.toThrow();
  });
});

describe('Lambda fixtures as stored', () => {
  type Handler = (
    event: APIGatewayProxyEventV2,
    context: ReturnType<typeof fakeLambdaContext>,
  ) => Promise<APIGatewayProxyStructuredResultV2>;

  async function invoke(fixture: string) {
    const deps = memoryDeps();
    const options = { deps, logger: new MemoryLogger(), maxBodyBytes, sseHeartbeatMs: 60_000 };
    const handler = createLambdaHttpHandler([health, createExport], {
      ...options,
      responseStreaming: false,
    }) as unknown as Handler;
    const event = loadLambdaFixture<APIGatewayProxyEventV2>(fixture);
    const result = await handler(event, fakeLambdaContext(29_000));

    return { result, deps };
  }

  const getFixtures = ['http-api-v2-get.json', 'function-url-get.json'];

  it.each(getFixtures)('%s reaches /health', async (fixture) => {
    const { result } = await invoke(fixture);
    const expectedId = loadLambdaFixture<APIGatewayProxyEventV2>(fixture).headers['x-request-id'];

    expect(result.statusCode).toBe(200);
    expect(result.headers?.['x-request-id']).toBe(expectedId);
  });

  it('decodes the base64 POST fixture', async () => {
    const { result, deps } = await invoke('http-api-v2-post-base64.json');
    const [job] = deps.queue.named('build-export');

    expect(result.statusCode).toBe(202);
    expect(job?.data).toMatchObject({ fileIds: [70000, 70001] });
  });

  it('reads the Function URL POST fixture', async () => {
    const { result, deps } = await invoke('function-url-post.json');
    const [job] = deps.queue.named('build-export');

    expect(result.statusCode).toBe(202);
    expect(job?.data).toMatchObject({ fileIds: [70002, 70003] });
  });
});
