/**
 * nginx's hardening, in front of the real service with authentication on. Real handshakes check
 * the TLS settings of Mozilla's intermediate profile. Every response carries the security
 * headers once, slow clients are cut off, and read tokens stay out of nginx's logs.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ensureNginx,
  type LocalNginx,
  startNginx,
  testNginxConfig,
} from '../../infra/local/nginx.js';
import { findFreePort } from '../support/processes.js';
import { readSse } from '../support/sse.js';
import {
  createExportAs,
  type CreatedExport,
  type SecureStack,
  send,
  startSecureStack,
  waitForEndAs,
} from './secure-stack.js';

const execFileAsync = promisify(execFile);

const sourceFile = 85_001;
/** The TLS 1.2 suites that the intermediate profile allows with an ECDSA certificate. */
const allowedTls12Ciphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
];
/** Headers that every response through nginx must carry exactly once. */
const securityHeaders = ['strict-transport-security', 'x-content-type-options', 'x-frame-options'];

let dir: string;
let certificate: { certificate: string; key: string };
let stack: SecureStack;
let nginx: LocalNginx;
let key: string;
let created: CreatedExport;
/** nginx in front of a port where nothing listens, for its 502 and its error log. */
let deadNginx: LocalNginx;
let deadDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'security-hardening-'));
  await chmod(dir, 0o755);
  await execFileAsync('sh', ['scripts/make-cert.sh', path.join(dir, 'certs')]);
  certificate = {
    certificate: path.join(dir, 'certs', 'tls.crt'),
    key: path.join(dir, 'certs', 'tls.key'),
  };

  stack = await startSecureStack({ nginx: { tls: certificate } });
  nginx = stack.nginx!;
  key = await stack.createKey('erin');
  await stack.service.putSource(sourceFile, randomBytes(4_096), 'source.bin');
  created = await createExportAs(nginx.url, key, [sourceFile]);
  await waitForEndAs(nginx.url, key, created.jobId);

  deadDir = path.join(dir, 'dead-nginx');
  deadNginx = await startNginx({
    dir: deadDir,
    apiUpstream: `127.0.0.1:${await findFreePort()}`,
    maxBodyBytes: 65_536,
  });
});

afterAll(async () => {
  await deadNginx?.stop();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('config', () => {
  it('passes nginx -t with HTTPS', async () => {
    const output = await testNginxConfig(await ensureNginx(), nginx.configFile);

    expect(output).toContain('syntax is ok');
    expect(output).not.toMatch(/\[(warn|emerg|alert)\]/);
  });
});

/** The outcome of one TLS handshake. */
interface Handshake {
  protocol?: string | null;
  cipher?: string;
  /** The OpenSSL error code when the handshake failed. */
  error?: string;
  ticket?: Buffer;
  session?: Buffer;
  reused?: boolean;
}

function handshake(port: number, options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    socket.setTimeout(5_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('secureConnect', () => {
      // TLS 1.2 sends the session and any ticket during the handshake itself.
      const result: Handshake = {
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        reused: socket.isSessionReused(),
      };
      const ticket = socket.getTLSTicket();
      const session = socket.getSession();
      if (ticket) result.ticket = ticket;
      if (session) result.session = session;
      socket.end();
      resolve(result);
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message }),
    );
  });
}

function tlsPort(): number {
  return Number(new URL(nginx.httpsUrl!).port);
}

/** Client settings that let Node's OpenSSL 3 offer TLS 1.0 and 1.1 and their ciphers at all. */
const legacyClient: tls.ConnectionOptions = {
  ciphers: 'ALL@SECLEVEL=0',
  rejectUnauthorized: false,
};

describe('TLS', () => {
  let permissive: tls.Server;
  let permissivePort: number;

  // A server that accepts every version shows that the client really offers the old ones, so
  // nginx's rejections below are its own.
  beforeAll(async () => {
    permissive = tls.createServer({
      key: await readFile(certificate.key),
      cert: await readFile(certificate.certificate),
      minVersion: 'TLSv1',
      ciphers: 'ALL@SECLEVEL=0',
    });
    permissive.on('secureConnection', (socket) => socket.end());
    await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve));
    permissivePort = (permissive.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => permissive?.close(resolve));
  });

  it.each(['TLSv1', 'TLSv1.1'] as const)('client can speak %s', async (version) => {
    const result = await handshake(permissivePort, {
      ...legacyClient,
      minVersion: version,
      maxVersion: version,
    });

    expect(result.protocol).toBe(version);
  });

  it('client can offer a CBC suite', async () => {
    const options = {
      ...legacyClient,
      maxVersion: 'TLSv1.2' as const,
      ciphers: 'ECDHE-ECDSA-AES128-SHA256@SECLEVEL=0',
    };
    const result = await handshake(permissivePort, options);

    expect(result.cipher).toBe('ECDHE-ECDSA-AES128-SHA256');
  });

  it.each(['TLSv1', 'TLSv1.1'] as const)('rejects %s', async (version) => {
    const result = await handshake(tlsPort(), {
      ...legacyClient,
      minVersion: version,
      maxVersion: version,
    });

    expect(result.protocol).toBeUndefined();
    expect(result.error).toMatch(/PROTOCOL_VERSION/);
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('negotiates %s', async (version) => {
    const result = await handshake(tlsPort(), {
      ca: await readFile(certificate.certificate),
      minVersion: version,
      maxVersion: version,
    });

    expect(result.error).toBeUndefined();
    expect(result.protocol).toBe(version);
  });

  it.each(allowedTls12Ciphers)('accepts %s on TLS 1.2', async (cipher) => {
    const result = await handshake(tlsPort(), {
      ...legacyClient,
      maxVersion: 'TLSv1.2',
      ciphers: cipher,
    });

    expect(result.cipher).toBe(cipher);
  });

  it.each(['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA'])(
    'rejects %s on TLS 1.2',
    async (cipher) => {
      const result = await handshake(tlsPort(), {
        ...legacyClient,
        maxVersion: 'TLSv1.2',
        ciphers: `${cipher}@SECLEVEL=0`,
      });

      expect(result.cipher).toBeUndefined();
      expect(result.error).toMatch(/HANDSHAKE_FAILURE/);
    },
  );

  it('sends no session ticket', async () => {
    const result = await handshake(tlsPort(), { ...legacyClient, maxVersion: 'TLSv1.2' });

    expect(result.protocol).toBe('TLSv1.2');
    expect(result.ticket).toBeUndefined();
  });

  it('resumes a session from the cache', async () => {
    const first = await handshake(tlsPort(), { ...legacyClient, maxVersion: 'TLSv1.2' });
    const second = await handshake(tlsPort(), {
      ...legacyClient,
      maxVersion: 'TLSv1.2',
      session: first.session!,
    });

    expect(second.reused).toBe(true);
  });

  it('serves the API over TLS 1.3', async () => {
    const ca = await readFile(certificate.certificate, 'utf8');
    const response = await getOverTls13(`${nginx.httpsUrl}/health`, ca);

    expect(response.status).toBe(200);
    expect(response.protocol).toBe('TLSv1.3');
  });
});

/** A response with its headers as sent, before any merging of repeated names. */
interface RawResponse {
  status: number;
  /** Lower-case header name to every value it was sent with. */
  headers: Map<string, string[]>;
}

function rawRequest(
  url: string,
  options: http.RequestOptions = {},
  body?: Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, options, (response) => {
      const headers = new Map<string, string[]>();
      for (let index = 0; index < response.rawHeaders.length; index += 2) {
        const name = response.rawHeaders[index]!.toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), response.rawHeaders[index + 1]!]);
      }
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

function repeatedNames(response: RawResponse): string[] {
  return [...response.headers].filter(([, values]) => values.length > 1).map(([name]) => name);
}

describe('security headers', () => {
  /** One request per kind of response: from the API, and made by nginx itself. */
  const responses: Array<[string, () => Promise<RawResponse>]> = [
    ['an API 200', () => rawRequest(`${nginx.url}/health`)],
    ['an API 401', () => rawRequest(`${nginx.url}/v1/files`)],
    ['an API 404', () => rawRequest(`${nginx.url}/nowhere`)],
    [
      'an API stream',
      () =>
        rawRequest(`${nginx.url}${created.progressUrl}`, {
          headers: { Authorization: `Bearer ${key}` },
        }),
    ],
    ['the web page', () => rawRequest(`${nginx.url}/app/`)],
    ['the page redirect', () => rawRequest(`${nginx.url}/app`)],
    ['a missing page file', () => rawRequest(`${nginx.url}/app/missing.css`)],
    ['the metrics block', () => rawRequest(`${nginx.url}/metrics`)],
    [
      'nginx 413',
      () =>
        rawRequest(
          `${nginx.url}/v1/export`,
          { method: 'POST', headers: { 'Content-Type': 'application/json' } },
          Buffer.alloc(70_000, 0x20),
        ),
    ],
    ['nginx 414', () => rawRequest(`${nginx.url}/${'a'.repeat(9_000)}`)],
    [
      'nginx 400',
      () => rawRequest(`${nginx.url}/health`, { headers: { 'X-Long': 'a'.repeat(9_000) } }),
    ],
    ['nginx 502', () => rawRequest(`${deadNginx.url}/v1/files`)],
  ];

  it.each(responses)('are sent once on %s', async (_case, request) => {
    const response = await request();

    expect(repeatedNames(response)).toEqual([]);
  });

  it.each(responses)('are all set on %s', async (_case, request) => {
    const response = await request();
    const missing = securityHeaders.filter((name) => !response.headers.has(name));

    expect(missing).toEqual([]);
  });

  it('keep the values of the API', async () => {
    const response = await rawRequest(`${nginx.url}/health`);

    expect(response.headers.get('x-frame-options')).toEqual(['SAMEORIGIN']);
  });

  it.each(responses.slice(4))('include a CSP on %s', async (_case, request) => {
    const response = await request();

    expect(response.headers.get('content-security-policy')?.[0]).toContain(
      "frame-ancestors 'none'",
    );
  });

  it('send a JSON body on 502', async () => {
    const response = await fetch(`${deadNginx.url}/v1/files`);
    const body = (await response.json()) as { error: { code: string } };

    expect(response.status).toBe(502);
    expect(body.error.code).toBe('bad_gateway');
  });
});

/** Resolves with the milliseconds until the server closed a connection that sent `data`. */
function timeUntilClosed(data: string): Promise<number> {
  const port = Number(new URL(nginx.url).port);
  const startedAt = performance.now();

  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(data));
    socket.on('data', () => {});
    socket.on('close', () => resolve(performance.now() - startedAt));
    // reset_timedout_connection makes nginx close with a reset, which is the expected end.
    socket.on('error', () => {});
    socket.setTimeout(30_000, () => {
      socket.destroy();
      reject(new Error('nginx kept a slow connection open for 30 s'));
    });
  });
}

describe('slow clients', () => {
  // client_header_timeout and client_body_timeout are 10 s; nginx's defaults are 60 s.
  it('are cut off after 10 s', async () => {
    const [headers, body] = await Promise.all([
      timeUntilClosed('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: '),
      timeUntilClosed(
        'POST /v1/export HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{"file_ids":',
      ),
    ]);

    expect(headers).toBeGreaterThan(9_000);
    expect(headers).toBeLessThan(15_000);
    expect(body).toBeGreaterThan(9_000);
    expect(body).toBeLessThan(15_000);
  }, 40_000);
});

describe('logs', () => {
  let accessLog: string;
  let errorLog: string;
  let deadAccessLog: string;
  let deadErrorLog: string;
  const encodedName = '%74oken';

  beforeAll(async () => {
    const progress = new URL(created.progressUrl, nginx.url);
    progress.searchParams.set('token', created.readToken);
    await readSse(progress.href);
    await send(nginx.url, created.statusUrl, { token: created.readToken }).then((r) =>
      r.arrayBuffer(),
    );
    await fetch(`${nginx.url}${created.statusUrl}?${encodedName}=${created.readToken}`).then((r) =>
      r.arrayBuffer(),
    );
    await fetch(`${nginx.url}${created.statusUrl}?ids=a&token=${created.readToken}&token=x`).then(
      (r) => r.arrayBuffer(),
    );

    await fetch(`${deadNginx.url}${created.progressUrl}?token=${created.readToken}`).then((r) =>
      r.arrayBuffer(),
    );
    await fetch(`${deadNginx.url}${created.statusUrl}?token=${created.readToken}`).then((r) =>
      r.arrayBuffer(),
    );
    await fetch(`${deadNginx.url}/v1/files?cursor=next`).then((r) => r.arrayBuffer());

    accessLog = await readFile(path.join(stack.nginxDir!, 'access.log'), 'utf8');
    errorLog = await readFile(path.join(stack.nginxDir!, 'error.log'), 'utf8');
    deadAccessLog = await readFile(path.join(deadDir, 'access.log'), 'utf8');
    deadErrorLog = await readFile(path.join(deadDir, 'error.log'), 'utf8');
  });

  it('redact tokens in the access log', () => {
    expect(accessLog).not.toContain(created.readToken);
    expect(accessLog).toContain(`${created.progressUrl}?[redacted]`);
    expect(accessLog).toContain(`${created.statusUrl}?[redacted]`);
  });

  it('keep other queries in the access log', () => {
    expect(deadAccessLog).toContain('/v1/files?cursor=next');
  });

  it('keep tokens out of the error log', () => {
    expect(errorLog).not.toContain(created.readToken);
    expect(deadErrorLog).not.toContain(created.readToken);
  });

  it('log failures without a token', () => {
    expect(deadErrorLog).toContain('GET /v1/files?cursor=next');
  });

  it('log failures with a token as access lines', () => {
    const lines = deadAccessLog.split('\n').filter((line) => line.includes('?[redacted]'));

    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.includes('" 502 '))).toBe(true);
  });
});

/** Sends a GET over TLS 1.3 only and returns the status and the negotiated protocol. */
function getOverTls13(
  url: string,
  ca: string,
): Promise<{ status: number; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, minVersion: 'TLSv1.3' }, (response) => {
      const protocol = (response.socket as tls.TLSSocket).getProtocol();
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, protocol }));
    });
    request.on('error', reject);
  });
}
