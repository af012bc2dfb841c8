import { createHash, randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';

import { describe, expect, it } from 'vitest';
import yauzl from 'yauzl';

import { PermanentJobError, StorageError } from '../runtime/contract/errors.js';
import { ManualClock } from '../test/memory/clock.js';
import { memoryJobContext } from '../test/memory/context.js';
import { type MemoryDeps, memoryDeps } from '../test/memory/deps.js';
import { buildExport } from './build-export.js';
import { fileNameMetadataKey } from './lib/entry-name.js';
import { planUpload } from './lib/part-size.js';
import { sourceKey } from './lib/preflight.js';
import { newRecord } from './lib/snapshot.js';

interface SourceSpec {
  fileId: number;
  body: Buffer;
  /** The original file name, stored URI-encoded as the platform does. */
  fileName?: string;
}

/** Stores the sources, creates the queued record and returns the job input. */
async function setup(sources: SourceSpec[], requested = sources.map((source) => source.fileId)) {
  const deps = memoryDeps();
  const { settings } = deps;
  for (const source of sources) {
    const metadata: Record<string, string> = {};
    if (source.fileName !== undefined) {
      metadata[fileNameMetadataKey] = encodeURIComponent(source.fileName);
    }
    deps.store.put(settings.sourceBucket, keyOf(deps, source.fileId), source.body, metadata);
  }

  const exportId = randomUUID();
  await deps.records.create(newRecord(exportId, requested, 3, new Date(deps.clock.now())));

  return { deps, input: { exportId, fileIds: requested } };
}

function keyOf(deps: MemoryDeps, fileId: number): string {
  return sourceKey(deps.settings.sourceKeyTemplate, fileId);
}

function uploadedZip(deps: MemoryDeps, exportId: string): Buffer | undefined {
  return deps.store.object(deps.settings.exportBucket, `exports/${exportId}.zip`)?.body;
}

/** Opens `zip` with yauzl, which checks each entry's CRC-32 and size while reading it. */
async function readZip(zip: Buffer) {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const entries: Array<{ name: string; comment: string; body: Buffer }> = [];

  for await (const entry of file.eachEntry()) {
    const body = await buffer(await file.openReadStreamPromise(entry));
    entries.push({ name: entry.fileName, comment: entry.fileComment, body });
  }

  return entries;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Bytes that differ from file to file, so a swapped entry body shows. */
function contentOf(fileId: number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let index = 0; index < size; index++) bytes[index] = (fileId * 31 + index * 7) % 251;

  return bytes;
}

const threeSources: SourceSpec[] = [
  { fileId: 10001, body: contentOf(10001, 200_000), fileName: 'Quarterly report.pdf' },
  { fileId: 10002, body: contentOf(10002, 0), fileName: 'empty.txt' },
  { fileId: 10003, body: contentOf(10003, 70_000), fileName: 'photos/Café.jpg' },
];

describe('build-export zip', () => {
  it('has one entry per source', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());
    const entries = await readZip(uploadedZip(deps, input.exportId)!);

    const names = threeSources.map((source) => source.fileName);

    expect(entries.map((entry) => entry.name)).toEqual(names);
  });

  it('copies bytes unchanged', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());
    const entries = await readZip(uploadedZip(deps, input.exportId)!);

    for (const [index, source] of threeSources.entries()) {
      expect(entries[index]?.body.equals(source.body)).toBe(true);
    }
  });

  it('comments each entry with its id', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());
    const entries = await readZip(uploadedZip(deps, input.exportId)!);

    expect(entries.map((entry) => entry.comment)).toEqual(
      threeSources.map((source) => `file_id=${source.fileId}`),
    );
  });

  it('sanitizes metadata names', async () => {
    const fileName = 'C:\\..\\..\\temp\\a.txt';
    const sources = [{ fileId: 10001, body: Buffer.from('x'), fileName }];
    const { deps, input } = await setup(sources);
    await buildExport.handler(input, deps, memoryJobContext());
    const entries = await readZip(uploadedZip(deps, input.exportId)!);

    expect(entries[0]?.name).toBe('temp/a.txt');
  });

  it('names unnamed sources by key', async () => {
    const { deps, input } = await setup([{ fileId: 10001, body: Buffer.from('x') }]);
    await buildExport.handler(input, deps, memoryJobContext());
    const entries = await readZip(uploadedZip(deps, input.exportId)!);
    const key = keyOf(deps, 10001);

    expect(entries[0]?.name).toBe(key.slice(key.lastIndexOf('/') + 1));
  });

  it('numbers duplicate names', async () => {
    const sources = [10001, 10002, 10003].map((fileId) => ({
      fileId,
      body: contentOf(fileId, 10),
      fileName: 'report.pdf',
    }));
    const { deps, input } = await setup(sources);
    await buildExport.handler(input, deps, memoryJobContext());
    const entries = await readZip(uploadedZip(deps, input.exportId)!);

    expect(entries.map((entry) => entry.name)).toEqual([
      'report.pdf',
      'report (2).pdf',
      'report (3).pdf',
    ]);
  });
});

describe('build-export missing files', () => {
  it('records missing ids', async () => {
    const { deps, input } = await setup(threeSources, [10001, 20000, 10002, 20001, 10003]);
    await buildExport.handler(input, deps, memoryJobContext());
    const record = await deps.records.get(input.exportId);
    const entries = await readZip(uploadedZip(deps, input.exportId)!);

    expect(record?.missingFileIds).toEqual([20000, 20001]);
    expect(entries).toHaveLength(3);
  });

  it('fails when all are missing', async () => {
    const { deps, input } = await setup([], [20000, 20001]);
    const run = buildExport.handler(input, deps, memoryJobContext());

    await expect(run).rejects.toBeInstanceOf(PermanentJobError);
    await expect(run).rejects.toMatchObject({ code: 'all_files_missing' });
  });

  it('uploads nothing when all are missing', async () => {
    const { deps, input } = await setup([], [20000, 20001]);
    await buildExport.handler(input, deps, memoryJobContext()).catch(() => undefined);

    expect(deps.store.uploads).toHaveLength(0);
  });

  it('counts a source deleted after preflight', async () => {
    const { deps, input } = await setup(threeSources);
    deps.store.deleteWhenRead(deps.settings.sourceBucket, keyOf(deps, 10003));
    await buildExport.handler(input, deps, memoryJobContext());
    const record = await deps.records.get(input.exportId);
    const entries = await readZip(uploadedZip(deps, input.exportId)!);

    expect(record?.missingFileIds).toEqual([10003]);
    expect(entries.map((entry) => entry.comment)).toEqual(['file_id=10001', 'file_id=10002']);
    expect(record?.progress.filesTotal).toBe(2);
    expect(record?.progress.bytesTotal).toBe(200_000);
  });

  it('fails when every source vanishes', async () => {
    const { deps, input } = await setup(threeSources.slice(0, 1));
    deps.store.deleteWhenRead(deps.settings.sourceBucket, keyOf(deps, 10001));
    const run = buildExport.handler(input, deps, memoryJobContext());

    await expect(run).rejects.toMatchObject({ code: 'all_files_missing' });
    expect(uploadedZip(deps, input.exportId)).toBeUndefined();
  });
});

describe('build-export progress', () => {
  /** 4 sources of 256 KiB read in 16 KiB chunks, with a clock that moves on every read. */
  async function runWithProgress() {
    const sources = [10001, 10002, 10003, 10004].map((fileId) => ({
      fileId,
      body: contentOf(fileId, 256 * 1024),
    }));
    const { deps, input } = await setup(sources);
    deps.clock = new ManualClock(Date.parse('2026-01-05T09:00:00.000Z'), 100);
    deps.store.readChunkBytes = 16 * 1024;
    await buildExport.handler(input, deps, memoryJobContext());

    const history = deps.records.history(input.exportId);
    return { sources, history, final: history.at(-1)! };
  }

  it('stores several steps', async () => {
    const { history } = await runWithProgress();
    const percents = new Set(history.map((record) => record.progress.percent));

    expect(percents.size).toBeGreaterThan(3);
  });

  it('never goes backwards', async () => {
    const { history } = await runWithProgress();

    for (let index = 1; index < history.length; index++) {
      const before = history[index - 1]!.progress;
      const after = history[index]!.progress;
      expect(after.percent).toBeGreaterThanOrEqual(before.percent);
      expect(after.bytesDone).toBeGreaterThanOrEqual(before.bytesDone);
      expect(after.filesDone).toBeGreaterThanOrEqual(before.filesDone);
    }
  });

  it('ends at 100% of the bytes', async () => {
    const { sources, final } = await runWithProgress();
    const totalBytes = sources.reduce((sum, source) => sum + source.body.length, 0);

    expect(final.progress.percent).toBe(100);
    expect(final.progress.bytesDone).toBe(totalBytes);
    expect(final.progress.bytesTotal).toBe(totalBytes);
    expect(final.progress.filesDone).toBe(sources.length);
  });

  it('marks the record processing', async () => {
    const { deps, input } = await setup(threeSources);
    const statuses: string[] = [];
    const update = deps.records.update.bind(deps.records);
    deps.records.update = async (jobId, change) => {
      const record = await update(jobId, change);
      statuses.push(record.status);
      return record;
    };
    await buildExport.handler(input, deps, memoryJobContext({ attempt: 2, maxAttempts: 4 }));
    const record = await deps.records.get(input.exportId);

    expect(statuses[0]).toBe('processing');
    expect(record?.attempt).toBe(2);
    expect(record?.maxAttempts).toBe(4);
  });
});

describe('build-export result', () => {
  it('completes with a download URL', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());
    const record = await deps.records.get(input.exportId);
    const signed = deps.signer.signed[0]!;
    const signedUrl = await deps.signer.signDownload(signed.bucket, signed.key, signed.options);

    expect(record?.status).toBe('completed');
    expect(signed.bucket).toBe(deps.settings.exportBucket);
    expect(signed.key).toBe(`exports/${input.exportId}.zip`);
    expect(signed.options.expiresInSeconds).toBe(deps.settings.downloadUrlTtlSeconds);
    expect(record?.downloadUrl).toBe(signedUrl);
  });

  it('sets expiresAt from the URL TTL', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());
    const record = await deps.records.get(input.exportId);
    const validMs = Date.parse(record!.expiresAt!) - Date.parse(record!.updatedAt);

    expect(validMs).toBe(deps.settings.downloadUrlTtlSeconds * 1000);
  });

  it('records size and digest of the zip', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());
    const record = await deps.records.get(input.exportId);
    const zip = uploadedZip(deps, input.exportId)!;

    expect(record?.artifact?.size).toBe(zip.length);
    expect(record?.artifact?.sha256).toBe(sha256(zip));
  });

  it('clears the last error', async () => {
    const { deps, input } = await setup(threeSources);
    await deps.records.update(input.exportId, (record) => ({
      ...record,
      lastError: { code: 'storage_unavailable', message: 'S3 returned 503' },
    }));
    await buildExport.handler(input, deps, memoryJobContext({ attempt: 2 }));
    const record = await deps.records.get(input.exportId);

    expect(record?.lastError).toBeUndefined();
  });

  it('schedules the expiry', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());

    expect(deps.queue.named('expire-export')).toEqual([
      {
        name: 'expire-export',
        data: { exportId: input.exportId },
        options: {
          jobId: `expire-${input.exportId}`,
          attempts: expect.any(Number),
          delayMs: deps.settings.artifactRetentionSeconds * 1000,
        },
      },
    ]);
  });

  it('uploads a zip content type', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.handler(input, deps, memoryJobContext());

    expect(deps.store.uploads[0]?.options.contentType).toBe('application/zip');
  });

  it('sizes parts with planUpload', async () => {
    const { deps, input } = await setup(threeSources);
    deps.settings.uploadMemoryBudgetBytes = 30 * 1024 * 1024;
    await buildExport.handler(input, deps, memoryJobContext());
    const totalBytes = threeSources.reduce((sum, source) => sum + source.body.length, 0);
    const plan = planUpload(totalBytes, deps.settings.uploadMemoryBudgetBytes);
    const { options } = deps.store.uploads[0]!;

    expect(options.partSizeBytes).toBe(plan.partSizeBytes);
    expect(options.partsInFlight).toBe(plan.partsInFlight);
  });
});

describe('build-export failures', () => {
  it('rejects when a read fails midway', async () => {
    const { deps, input } = await setup(threeSources);
    const failure = new Error('socket hang up');
    deps.store.failNextRead(deps.settings.sourceBucket, keyOf(deps, 10003), failure, 1000);
    const run = buildExport.handler(input, deps, memoryJobContext());

    await expect(run).rejects.toBe(failure);
  });

  it('stores no zip after a failed read', async () => {
    const { deps, input } = await setup(threeSources);
    const failure = new Error('read ECONNRESET');
    deps.store.failNextRead(deps.settings.sourceBucket, keyOf(deps, 10003), failure, 1000);
    await buildExport.handler(input, deps, memoryJobContext()).catch(() => undefined);

    expect(deps.store.uploads[0]?.outcome).toBe('failed');
    expect(uploadedZip(deps, input.exportId)).toBeUndefined();
  });

  it('leaves the record unfinished', async () => {
    const { deps, input } = await setup(threeSources);
    const failure = new Error('read ECONNRESET');
    deps.store.failNextRead(deps.settings.sourceBucket, keyOf(deps, 10001), failure, 1000);
    await buildExport.handler(input, deps, memoryJobContext()).catch(() => undefined);
    const record = await deps.records.get(input.exportId);

    expect(record?.status).toBe('processing');
    expect(deps.queue.named('expire-export')).toHaveLength(0);
  });

  it('rejects when the upload fails', async () => {
    const { deps, input } = await setup(threeSources);
    const failure = new StorageError('unavailable', 'S3 returned 503');
    deps.store.failNextUpload(failure, 100_000);
    const run = buildExport.handler(input, deps, memoryJobContext());

    await expect(run).rejects.toBe(failure);
  });

  it('rejects when the upload fails early', async () => {
    const { deps, input } = await setup(threeSources);
    const failure = new StorageError('access_denied', 'S3 returned 403');
    deps.store.failNextUpload(failure);
    const run = buildExport.handler(input, deps, memoryJobContext());

    await expect(run).rejects.toBe(failure);
  });

  it('rejects when aborted', async () => {
    const { deps, input } = await setup(threeSources);
    const controller = new AbortController();
    controller.abort(new Error('worker is shutting down'));
    const run = buildExport.handler(input, deps, memoryJobContext({ signal: controller.signal }));

    await expect(run).rejects.toThrow();
    expect(uploadedZip(deps, input.exportId)).toBeUndefined();
  });
});

describe('build-export onFailure', () => {
  const failure = { code: 'storage_unavailable', message: 'S3 returned 503' };

  it('requeues before the last attempt', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.onFailure!(input, deps, memoryJobContext(), { ...failure, final: false });
    const record = await deps.records.get(input.exportId);

    expect(record?.status).toBe('queued');
    expect(record?.lastError).toEqual(failure);
    expect(record?.error).toBeUndefined();
  });

  it('fails after the last attempt', async () => {
    const { deps, input } = await setup(threeSources);
    await buildExport.onFailure!(input, deps, memoryJobContext(), { ...failure, final: true });
    const record = await deps.records.get(input.exportId);

    expect(record?.status).toBe('failed');
    expect(record?.error).toEqual(failure);
  });
});
