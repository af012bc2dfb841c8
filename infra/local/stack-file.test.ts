import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { readStackFile, type StackFile, writeStackFile } from './stack-file.js';

const stack: StackFile = {
  apiUrl: 'http://127.0.0.1:3000',
  redisUrl: 'redis://127.0.0.1:40000',
  s3: { endpoint: 'http://127.0.0.1:40001', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  sourceBucket: 'downloads',
  exportBucket: 'exports',
  sourceKeyTemplate: 'downloads/{file_id}.zip',
  startedAt: '2026-12-04T16:00:00.000Z',
};

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'stack-file-test-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stack file', () => {
  it('round-trips through JSON', async () => {
    await writeStackFile(dir, stack);

    expect(await readStackFile(dir)).toEqual(stack);
  });

  it('is readable by its owner only', async () => {
    await writeStackFile(path.join(dir, 'nested'), stack);

    const { mode } = await stat(path.join(dir, 'nested', 'stack.json'));
    expect(mode & 0o777).toBe(0o600);
  });

  it('returns null when missing', async () => {
    expect(await readStackFile(dir)).toBeNull();
  });

  it('rejects invalid JSON', async () => {
    await writeFile(path.join(dir, 'stack.json'), '{"apiUrl":');

    await expect(readStackFile(dir)).rejects.toThrow(/Invalid stack file/);
  });

  it('rejects a missing field', async () => {
    const { redisUrl: _, ...incomplete } = stack;
    await writeFile(path.join(dir, 'stack.json'), JSON.stringify(incomplete));

    await expect(readStackFile(dir)).rejects.toThrow(/redisUrl/);
  });
});
