import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { createProgressView, describeProgress } from './progress.js';

function snapshot(filesDone: number, bytesDone: number, percent: number): ExportSnapshot {
  return {
    jobId: 'job-1',
    status: filesDone === 2 ? 'completed' : 'processing',
    attempt: 1,
    maxAttempts: 3,
    progress: { percent, filesDone, filesTotal: 2, bytesDone, bytesTotal: 2048 },
    missingFileIds: [],
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    version: 1,
  };
}

/** Returns a stream that is not a terminal, as in CI logs and pipes, and its output so far. */
function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));

  const writeStream = Object.assign(stream, { isTTY: false }) as unknown as NodeJS.WriteStream;
  return { stream: writeStream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('describeProgress', () => {
  it('formats files, bytes and percent', () => {
    expect(describeProgress(snapshot(1, 1024, 50))).toEqual({
      status: 'processing',
      files: '1/2 files',
      bytes: '1.0 KiB/2.0 KiB',
      percent: '50.0%',
    });
  });

  it('clamps the percent', () => {
    expect(describeProgress(snapshot(1, 0, 140)).percent).toBe('100.0%');
    expect(describeProgress(snapshot(1, 0, Number.NaN)).percent).toBe('0.0%');
  });
});

describe('createProgressView off a terminal', () => {
  it('prints one line per file or status change', async () => {
    const output = capture();
    const view = createProgressView(output.stream);

    view.update(snapshot(0, 0, 0));
    view.update(snapshot(0, 512, 25));
    view.update(snapshot(1, 1024, 50));
    view.notice('Reconnecting');
    view.update(snapshot(2, 2048, 100));
    view.stop();
    await new Promise((resolve) => setImmediate(resolve));

    expect(output.text().split('\n')).toEqual([
      'Export processing: 0/2 files, 0 B/2.0 KiB (0.0%)',
      'Export processing: 1/2 files, 1.0 KiB/2.0 KiB (50.0%)',
      'Reconnecting',
      'Export completed: 2/2 files, 2.0 KiB/2.0 KiB (100.0%)',
      '',
    ]);
  });
});
