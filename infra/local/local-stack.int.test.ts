import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig, type Config } from '../../runtime/config.js';
import { startTestServices, type TestServices } from '../../test/support/local-services.js';
import { createS3Client } from '../s3-client.js';
import { importCorpus } from './corpus.js';
import { ensureRedisServer, startRedisServer } from './redis-server.js';

let services: TestServices;
let config: Readonly<Config>;
let client: S3Client;

beforeAll(async () => {
  services = await startTestServices();
  config = loadConfig(services.env);
  client = createS3Client(config.s3);
});

afterAll(async () => {
  client?.destroy();
  await services?.stop();
});

describe('redis-server', () => {
  it('listens on a private port', () => {
    const port = Number(new URL(services.redisUrl).port);

    expect(new URL(services.redisUrl).hostname).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(6379);
  });

  it('persists to an append-only file without eviction', async () => {
    const redis = new Redis(services.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();

    try {
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
      expect(await redis.config('GET', 'save')).toEqual(['save', '']);
    } finally {
      redis.disconnect();
    }
  });

  it('ensureRedisServer finds the binary', async () => {
    expect(await ensureRedisServer()).toMatch(/\/redis-server$/);
  });

  it('rejects port 6379', async () => {
    await expect(startRedisServer({ dir: os.tmpdir(), port: 6379 })).rejects.toThrow(/6379/);
  });

  it('stop ends the process', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-stop-test-'));
    const redis = await startRedisServer({ dir });

    await redis.stop();

    await expect(canConnect(redis.port)).resolves.toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('S3 emulator', () => {
  it('rejects a wrong secret with 403', async () => {
    const wrong = createS3Client({ ...config.s3, secretAccessKey: 'not-the-secret' });
    const put = new PutObjectCommand({ Bucket: 'downloads', Key: 'denied.txt', Body: 'x' });

    await expect(wrong.send(put)).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    wrong.destroy();
  });

  it('stores and returns an object', async () => {
    const body = 'round trip ✓';
    await client.send(new PutObjectCommand({ Bucket: 'exports', Key: 'a/b.txt', Body: body }));

    const object = await client.send(new GetObjectCommand({ Bucket: 'exports', Key: 'a/b.txt' }));

    expect(await object.Body?.transformToString()).toBe(body);
  });
});

describe('importCorpus', () => {
  it('imports the package corpus', async () => {
    const files = await importCorpus({
      client,
      bucket: config.sourceBucket,
      keyTemplate: config.sourceKeyTemplate,
    });

    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(files.map((file) => file.fileId)).toEqual(files.map((_, index) => 70_000 + index));
    expect(files.every((file) => file.size > 0)).toBe(true);

    const last = files.at(-1)!;
    const head = await headSource(last.key);
    expect(last.key).toBe(`downloads/${last.fileId}.zip`);
    expect(head.ContentLength).toBe(last.size);
    expect(decodeURIComponent(head.Metadata?.filename ?? '')).toBe(last.name);
  });

  it('imports a folder in path order', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'corpus-test-'));
    await mkdir(path.join(folder, 'b'));
    await mkdir(path.join(folder, '.hidden'));
    await writeFile(path.join(folder, 'b', 'Résumé 2024.pdf'), 'pdf');
    await writeFile(path.join(folder, 'a.txt'), 'text');
    await writeFile(path.join(folder, '.env'), 'skipped');
    await writeFile(path.join(folder, '.hidden', 'c.txt'), 'skipped');

    const files = await importCorpus({
      client,
      bucket: 'downloads',
      keyTemplate: 'folder/{file_id}',
      folder,
      firstId: 5,
    });

    expect(files).toEqual([
      { fileId: 5, name: 'a.txt', size: 4, key: 'folder/5' },
      { fileId: 6, name: 'Résumé 2024.pdf', size: 3, key: 'folder/6' },
    ]);
    const head = await headSource('folder/6');
    expect(head.Metadata?.filename).toBe('R%C3%A9sum%C3%A9%202024.pdf');
    expect(head.ContentType).toBe('application/pdf');
    await rm(folder, { recursive: true, force: true });
  });

  it('rejects a key template without {file_id}', async () => {
    const options = { client, bucket: 'downloads', keyTemplate: 'downloads/file.zip' };

    await expect(importCorpus(options)).rejects.toThrow(/\{file_id\}/);
  });
});

function headSource(key: string) {
  return client.send(new HeadObjectCommand({ Bucket: 'downloads', Key: key }));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
