import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';

import { parseEntryComment, verifyZip, type SourceReader } from './verify.js';

interface TestEntry {
  name: string;
  data: Buffer;
  comment?: string;
  compress?: boolean;
}

let directory = '';

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'verify-test-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const sources = new Map<number, Buffer>([
  [70000, randomBytes(300 * 1024)],
  [70001, Buffer.from('plain text source\n'.repeat(500))],
  [70002, Buffer.alloc(0)],
]);

const readSource: SourceReader = async (fileId) => {
  const data = sources.get(fileId);

  // Small chunks, so the comparison runs over many reads as it does with S3.
  return data === undefined ? null : Readable.from(chunk(data, 4096));
};

function chunk(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) {
    chunks.push(data.subarray(offset, offset + size));
  }

  return chunks;
}

function source(fileId: number): Buffer {
  const data = sources.get(fileId);
  if (data === undefined) throw new Error(`test source ${fileId} is not defined`);

  return data;
}

async function buildZip(name: string, entries: TestEntry[]): Promise<string> {
  const path = join(directory, name);
  const zip = new yazl.ZipFile();

  for (const entry of entries) {
    // @types/yazl 3.3 leaves fileComment out of addBuffer's options, though yazl reads it there.
    const options: Partial<yazl.FileOptions> = { compress: entry.compress ?? true };
    if (entry.comment !== undefined) options.fileComment = entry.comment;
    zip.addBuffer(entry.data, entry.name, options);
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));

  return path;
}

function matchingEntries(): TestEntry[] {
  return [
    { name: 'photo.bin', data: source(70000), comment: 'file_id=70000' },
    { name: 'notes.txt', data: source(70001), comment: 'file_id=70001', compress: false },
    { name: 'empty.txt', data: source(70002), comment: 'file_id=70002' },
  ];
}

describe('verifyZip', () => {
  it('passes a zip that matches its sources', async () => {
    const zipPath = await buildZip('matching.zip', matchingEntries());

    const report = await verifyZip({
      zipPath,
      requestedIds: [70000, 70001, 70002, 70007, 70000],
      missingFileIds: [70007],
      readSource,
    });

    expect(report.problems).toEqual([]);
    expect(report.verifiedEntries).toBe(3);
    expect(report.verifiedBytes).toBe(source(70000).length + source(70001).length);
    expect(report.entries.map((entry) => entry.fileId)).toEqual([70000, 70001, 70002]);
  });

  it('reports a tampered entry', async () => {
    const tampered = Buffer.from(source(70001));
    tampered[100] = tampered[100]! ^ 0xff;
    const entries = matchingEntries();
    entries[1] = { name: 'notes.txt', data: tampered, comment: 'file_id=70001' };
    const zipPath = await buildZip('tampered.zip', entries);

    const report = await verifyZip({
      zipPath,
      requestedIds: [70000, 70001, 70002],
      missingFileIds: [],
      readSource,
    });

    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toContain('"notes.txt" (file 70001) differs from its source');
    expect(report.verifiedEntries).toBe(2);
    expect(report.entries[0]?.problem).toBeUndefined();
    expect(report.entries[1]?.problem).toBeDefined();
  });

  it('reports an entry of another length', async () => {
    const entries = matchingEntries();
    entries[0] = { name: 'photo.bin', data: source(70000).subarray(1), comment: 'file_id=70000' };
    const zipPath = await buildZip('truncated.zip', entries);

    const report = await verifyZip({
      zipPath,
      requestedIds: [70000, 70001, 70002],
      missingFileIds: [],
      readSource,
    });

    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toContain(`entry ${source(70000).length - 1} bytes`);
    expect(report.problems[0]).toContain(`source ${source(70000).length} bytes`);
  });

  it('reports uncommented entries and unaccounted ids', async () => {
    const zipPath = await buildZip('uncommented.zip', [
      { name: 'photo.bin', data: source(70000), comment: 'file_id=70000' },
      { name: 'stray.txt', data: Buffer.from('stray') },
    ]);

    const report = await verifyZip({
      zipPath,
      requestedIds: [70000, 70001],
      missingFileIds: [],
      readSource,
    });

    expect(report.problems).toEqual([
      'entry "stray.txt" has no file_id=N comment',
      'file 70001 has no zip entry and is not in missingFileIds',
    ]);
  });

  it('reports an entry whose source is gone', async () => {
    const zipPath = await buildZip('no-source.zip', [
      { name: 'gone.bin', data: Buffer.from('gone'), comment: 'file_id=79999' },
    ]);

    const report = await verifyZip({
      zipPath,
      requestedIds: [79999],
      missingFileIds: [],
      readSource,
    });

    expect(report.problems).toEqual(['entry "gone.bin": source of file 79999 not found']);
    expect(report.verifiedEntries).toBe(0);
  });

  it('reports a failing source reader per entry', async () => {
    const zipPath = await buildZip('reader-error.zip', matchingEntries().slice(0, 1));
    const failingReader: SourceReader = async () => {
      throw new Error('Access Denied');
    };

    const report = await verifyZip({
      zipPath,
      requestedIds: [70000],
      missingFileIds: [],
      readSource: failingReader,
    });

    expect(report.problems).toEqual([
      'entry "photo.bin" (file 70000) could not be compared: Access Denied',
    ]);
  });

  it('rejects a file that is not a zip', async () => {
    const path = join(directory, 'not-a-zip.zip');
    await pipeline(Readable.from([Buffer.from('not a zip')]), createWriteStream(path));

    await expect(
      verifyZip({ zipPath: path, requestedIds: [1], missingFileIds: [], readSource }),
    ).rejects.toThrow();
  });
});

describe('parseEntryComment', () => {
  it.each([
    ['file_id=70000', 70000],
    [' file_id=5 ', 5],
    ['file_id=', undefined],
    ['file_id=-1', undefined],
    ['file_id=1.5', undefined],
    ['id=7', undefined],
    ['', undefined],
  ])('parses %j', (comment, expected) => {
    expect(parseEntryComment(comment)).toBe(expected);
  });
});
