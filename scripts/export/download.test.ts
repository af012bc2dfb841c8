import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compareZipDigest } from './digest.js';
import { downloadToFile } from './download.js';

const payload = randomBytes(512 * 1024);
const payloadSha256 = createHash('sha256').update(payload).digest('hex');

let server: Server;
let baseUrl = '';
let directory = '';

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'download-test-'));
  server = createServer((request, response) => {
    if (request.url !== '/export.zip') {
      response.writeHead(403, { 'content-type': 'application/xml' }).end('<Error>Expired</Error>');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/zip' });
    // Two writes, so the body arrives in more than one chunk.
    response.write(payload.subarray(0, 1000));
    response.end(payload.subarray(1000));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(directory, { recursive: true, force: true });
});

describe('downloadToFile', () => {
  it('writes the body and returns its digest', async () => {
    const path = join(directory, 'ok.zip');

    const digest = await downloadToFile(`${baseUrl}/export.zip`, path);

    expect(digest).toEqual({ size: payload.length, sha256: payloadSha256 });
    expect((await readFile(path)).equals(payload)).toBe(true);
  });

  it('throws on an error status with the body excerpt', async () => {
    const path = join(directory, 'expired.zip');

    await expect(downloadToFile(`${baseUrl}/expired.zip`, path)).rejects.toThrow(
      'Download failed with HTTP 403: <Error>Expired</Error>',
    );
  });
});

describe('compareZipDigest', () => {
  const expected = { size: 10, sha256: 'ab'.repeat(32) };

  it('accepts an equal digest in either case', () => {
    expect(compareZipDigest({ ...expected, sha256: 'AB'.repeat(32) }, expected)).toEqual([]);
  });

  it('reports size and digest differences', () => {
    const problems = compareZipDigest(expected, { size: 11, sha256: 'cd'.repeat(32) });

    expect(problems).toHaveLength(2);
    expect(problems[0]).toBe('zip size is 11 bytes, but the job reported 10');
    expect(problems[1]).toContain('zip SHA-256 is cdcd');
  });
});
