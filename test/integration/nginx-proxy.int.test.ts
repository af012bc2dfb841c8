/**
 * nginx from Debian's package, configured from nginx/ as `npm start` configures it, in front of
 * a small upstream that echoes what it receives. These tests check what nginx itself does:
 * forwarded headers, the body limit, streaming, the S3 proxy and HTTPS.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ensureNginx,
  hostAndPort,
  type LocalNginx,
  renderTemplate,
  startNginx,
  testNginxConfig,
  toUpstream,
} from '../../infra/local/nginx.js';

const execFileAsync = promisify(execFile);

/** Headers the echo upstream sends, standing for the API's security headers. */
const upstreamHeaders = {
  'Content-Security-Policy': "default-src 'none'",
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'SAMEORIGIN',
  'Referrer-Policy': 'no-referrer',
};

const maxBodyBytes = 65_536;
const sseFrameIntervalMs = 300;
const sseFrameCount = 5;

let dir: string;
let upstream: http.Server;
let upstreamAddress: string;
let nginx: LocalNginx;
let certificate: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nginx-proxy-test-'));
  // nginx's workers run as nobody when the test runs as root, and must enter the folder.
  await chmod(dir, 0o755);
  await execFileAsync('sh', ['scripts/make-cert.sh', path.join(dir, 'certs')]);
  certificate = await readFile(path.join(dir, 'certs', 'tls.crt'), 'utf8');

  upstream = http.createServer(answer);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamAddress = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  nginx = await startNginx({
    dir: path.join(dir, 'nginx'),
    apiUpstream: upstreamAddress,
    s3Upstream: upstreamAddress,
    maxBodyBytes,
    tls: { certificate: path.join(dir, 'certs', 'tls.crt'), key: path.join(dir, 'certs', 'tls.key') },
  });
});

afterAll(async () => {
  await nginx?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('nginx config', () => {
  it('passes nginx -t', async () => {
    const output = await testNginxConfig(await ensureNginx(), nginx.configFile);

    expect(output).toContain('syntax is ok');
    expect(output).not.toMatch(/\[(warn|emerg|alert)\]/);
  });

  it('listens on loopback only', () => {
    expect(new URL(nginx.url).hostname).toBe('127.0.0.1');
    expect(new URL(nginx.s3Endpoint ?? 'http://missing').hostname).toBe('127.0.0.1');
    expect(new URL(nginx.httpsUrl ?? 'https://missing').hostname).toBe('127.0.0.1');
  });

  it('rejects a placeholder without a value', () => {
    expect(() => renderTemplate('pid ${NGINX_PID_FILE};', {})).toThrow(/NGINX_PID_FILE/);
  });

  it('rejects a value that ends a directive', () => {
    const values = { NGINX_PID_FILE: '/tmp/x; user root' };

    expect(() => renderTemplate('pid ${NGINX_PID_FILE};', values)).toThrow(/Invalid value/);
  });

  it.each([
    ['127.0.0.1', 3000, '127.0.0.1:3000'],
    ['0.0.0.0', 3000, '127.0.0.1:3000'],
    ['::', 3000, '[::1]:3000'],
    ['::1', 3000, '[::1]:3000'],
    ['[::1]', 3000, '[::1]:3000'],
    ['localhost', 80, 'localhost:80'],
  ])('upstream of %s port %i is %s', (hostname, port, expected) => {
    expect(hostAndPort(hostname, port)).toBe(expected);
  });

  it.each([
    ['http://127.0.0.1:4568', '127.0.0.1:4568'],
    ['http://minio', 'minio:80'],
    ['https://s3.amazonaws.com', undefined],
    ['http://127.0.0.1:4568/prefix', undefined],
  ])('upstream of %s is %s', (url, expected) => {
    expect(toUpstream(url)).toBe(expected);
  });
});

describe('API proxy', () => {
  it('forwards the client address and scheme', async () => {
    const echo = await getEcho(`${nginx.url}/v1/export/x`);

    expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers.host).toBe(new URL(nginx.url).host);
  });

  it('replaces a client X-Forwarded-For', async () => {
    const echo = await getEcho(`${nginx.url}/v1/export/x`, { 'X-Forwarded-For': '203.0.113.7' });

    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('keeps upstream connections open', async () => {
    const echo = await getEcho(`${nginx.url}/v1/export/x`);

    expect(echo.httpVersion).toBe('1.1');
    expect(echo.headers.connection).toBeUndefined();
  });

  it('passes the request path and query unchanged', async () => {
    const echo = await getEcho(`${nginx.url}/v1/export/a%2Fb?x=1&y=%20`);

    expect(echo.url).toBe('/v1/export/a%2Fb?x=1&y=%20');
  });

  it('keeps a client request id', async () => {
    const echo = await getEcho(`${nginx.url}/health`, { 'X-Request-ID': 'client-id-1' });

    expect(echo.headers['x-request-id']).toBe('client-id-1');
  });

  it('adds a request id when missing', async () => {
    const echo = await getEcho(`${nginx.url}/health`);

    expect(echo.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('passes security headers through', async () => {
    const response = await fetch(`${nginx.url}/health`);
    await response.arrayBuffer();

    for (const [name, value] of Object.entries(upstreamHeaders)) {
      expect(response.headers.get(name), name).toBe(value);
    }
  });

  it('rejects an oversized body with JSON 413', async () => {
    const response = await postBody(`${nginx.url}/v1/export`, maxBodyBytes + 1);
    const body = (await response.json()) as { error: { code: string; message: string } };

    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toContain(String(maxBodyBytes));
  });

  it('passes a body at the limit', async () => {
    const response = await postBody(`${nginx.url}/v1/export`, maxBodyBytes);
    const echo = (await response.json()) as Echo;

    expect(response.status).toBe(200);
    expect(echo.bodyBytes).toBe(maxBodyBytes);
  });
});

describe('SSE locations', () => {
  const paths = ['/v1/export/job-1/progress', '/v1/download/subscribe/job-1'];

  it.each(paths)('streams %s frame by frame', async (ssePath) => {
    const arrivals = await readChunkArrivals(`${nginx.url}${ssePath}`);
    const span = arrivals.at(-1)! - arrivals[0]!;

    expect(arrivals.length).toBe(sseFrameCount);
    // The upstream writes a frame every 300 ms; held-back frames would arrive together.
    expect(span).toBeGreaterThan((sseFrameCount - 2) * sseFrameIntervalMs);
  });

  it('sets a read timeout far above the heartbeat', async () => {
    const config = await readFile(path.join(path.dirname(nginx.configFile), 'api-proxy.conf'), 'utf8');
    const sseLocation = config.slice(config.indexOf('location ~ ^/v1/(?:export'));

    expect(sseLocation).toMatch(/proxy_buffering off;/);
    expect(sseLocation).toMatch(/proxy_read_timeout 1h;/);
  });
});

describe('S3 proxy', () => {
  it('passes Host and the signed path unchanged', async () => {
    const signedPath = '/exports/exports/a%20b.zip?X-Amz-Signature=abc&response-content-type=x%2Fy';
    const echo = await getEcho(`${nginx.s3Endpoint}${signedPath}`);

    expect(echo.url).toBe(signedPath);
    expect(echo.headers.host).toBe(new URL(nginx.s3Endpoint!).host);
  });

  it('forwards the client address', async () => {
    const headers = { 'X-Forwarded-For': '203.0.113.7' };
    const echo = await getEcho(`${nginx.s3Endpoint}/exports/a.zip`, headers);

    expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
  });

  it('passes Range requests to the store', async () => {
    const echo = await getEcho(`${nginx.s3Endpoint}/exports/a.zip`, { Range: 'bytes=10-19' });

    expect(echo.headers.range).toBe('bytes=10-19');
  });

  it('rejects uploads with 403', async () => {
    const response = await fetch(`${nginx.s3Endpoint}/exports/a.zip`, { method: 'PUT', body: 'x' });
    await response.arrayBuffer();

    expect(response.status).toBe(403);
  });
});

describe('HTTPS', () => {
  it('serves the API with the given certificate', async () => {
    const { status, body } = await getOverTls(`${nginx.httpsUrl}/v1/export/x`, certificate);
    const echo = JSON.parse(body) as Echo;

    expect(status).toBe(200);
    expect(echo.headers['x-forwarded-proto']).toBe('https');
  });
});

/** What the echo upstream returns for every request except SSE paths. */
interface Echo {
  url: string;
  httpVersion: string;
  headers: Record<string, string | undefined>;
  bodyBytes: number;
}

function answer(request: IncomingMessage, response: ServerResponse): void {
  if (/\/(progress|subscribe\/[^/]+)$/.test(request.url ?? '')) {
    streamFrames(response);
    return;
  }

  let bodyBytes = 0;
  request.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
  });
  request.on('end', () => {
    const echo = {
      url: request.url,
      httpVersion: request.httpVersion,
      headers: request.headers,
      bodyBytes,
    };
    response.writeHead(200, { 'Content-Type': 'application/json', ...upstreamHeaders });
    response.end(JSON.stringify(echo));
  });
}

/** Writes SSE frames without X-Accel-Buffering, so only nginx's own config can stream them. */
function streamFrames(response: ServerResponse): void {
  response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let sent = 0;
  const timer = setInterval(() => {
    sent += 1;
    response.write(`id: ${sent}\nevent: progress\ndata: {"n":${sent}}\n\n`);
    if (sent === sseFrameCount) {
      clearInterval(timer);
      response.end();
    }
  }, sseFrameIntervalMs);
  response.on('close', () => clearInterval(timer));
}

async function getEcho(url: string, headers: Record<string, string> = {}): Promise<Echo> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`GET ${url} returned ${response.status}`);

  return (await response.json()) as Echo;
}

function postBody(url: string, bytes: number): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: Buffer.alloc(bytes, 0x20),
  });
}

/** Returns the time in ms after the request at which each SSE frame arrived. */
async function readChunkArrivals(url: string): Promise<number[]> {
  const start = performance.now();
  const response = await fetch(url, { headers: { Accept: 'text/event-stream' } });
  const arrivals: number[] = [];
  let text = '';

  for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    const frames = text.split('\n\n');
    text = frames.pop() ?? '';
    for (const _frame of frames) arrivals.push(performance.now() - start);
  }

  return arrivals;
}

function getOverTls(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}
