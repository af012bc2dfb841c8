import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkedFolders, findViolations } from './import-rules.js';

function projectWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'import-rules-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }

  return root;
}

describe('import rules', () => {
  it('pass on this project', () => {
    const root = new URL('..', import.meta.url).pathname;

    expect(checkedFolders.flatMap((folder) => findViolations(root, folder))).toEqual([]);
  });

  it.each([
    ["import { Redis } from 'ioredis';", 'ioredis'],
    ["import { Hono } from 'hono';", 'hono'],
    ["import type { Job } from 'bullmq';", 'bullmq'],
    ["import { S3Client } from '@aws-sdk/client-s3';", '@aws-sdk/client-s3'],
    ["import { createS3Client } from '../infra/s3-client.js';", 'infra/s3-client.js'],
    ["import { startApi } from '../runtime/processes.js';", 'runtime/processes.js'],
    ["const m = await import('ioredis');", 'ioredis'],
  ])('reject %s', (line, named) => {
    const root = projectWith({ 'functions/bad.ts': `${line}\n` });

    const violations = findViolations(root, 'functions');

    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain(named);
  });

  it('allow the contract, libraries and tests', () => {
    const root = projectWith({
      'functions/good.ts': [
        "import { type } from 'arktype';",
        "import { defineHttp } from '../runtime/contract/define.js';",
        "import { fileId } from './lib/schemas.js';",
      ].join('\n'),
      'functions/good.test.ts': "import { Redis } from 'ioredis';\n",
    });

    expect(findViolations(root, 'functions')).toEqual([]);
  });
});
