import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { ApiError } from './api.js';
import type { ProgressView } from './progress.js';
import { runExport, type RunOptions } from './run.js';
import {
  openEventStream,
  sendJson,
  sseFrame,
  startTestServer,
  type TestServer,
} from './test-server.js';

const sources = new Map<number, Buffer>([
  [70000, Buffer.from('first source file\n'.repeat(1000))],
  [70001, Buffer.from('second source file\n'.repeat(10))],
]);

interface ApiScenario {
  zip: Buffer;
  /** The SHA-256 the job reports, when it should differ from the zip's. */
  reportedSha256?: string;
  error?: { code: string; message: string };
  rejectPost?: boolean;
}

const servers: TestServer[] = [];
let directory = '';

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'run-test-'));
});

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function buildZip(ids: number[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const id of ids) {
    // @types/yazl 3.3 leaves fileComment out of addBuffer's options, though yazl reads it there.
    const options: Partial<yazl.FileOptions> = { fileComment: `file_id=${id}` };
    zip.addBuffer(sources.get(id)!, `file-${id}.txt`, options);
  }
  zip.end();

  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);

  return Buffer.concat(chunks);
}

function finalSnapshot(scenario: ApiScenario, baseUrl: string): ExportSnapshot {
  const base: ExportSnapshot = {
    jobId: 'job-1',
    status: scenario.error ? 'failed' : 'completed',
    attempt: 1,
    maxAttempts: 3,
    progress: { percent: 100, filesDone: 2, filesTotal: 2, bytesDone: 100, bytesTotal: 100 },
    missingFileIds: [70009],
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:01.000Z',
    version: 2,
  };
  if (scenario.error) return { ...base, error: scenario.error };

  const sha256 = scenario.reportedSha256 ?? createHash('sha256').update(scenario.zip).digest('hex');
  return {
    ...base,
    downloadUrl: `${baseUrl}/download/export.zip`,
    expiresAt: '2024-01-01T01:00:00.000Z',
    zip: { fileName: 'export.zip', size: scenario.zip.length, sha256 },
  };
}

async function startApi(scenario: ApiScenario): Promise<TestServer> {
  const server = await startTestServer({
    '/v1/export': (_request, response) => {
      if (scenario.rejectPost) {
        const error = { code: 'invalid_request', message: 'too many ids', field: 'file_ids' };
        sendJson(response, 400, { error });
        return;
      }
      sendJson(response, 202, {
        jobId: 'job-1',
        status: 'queued',
        totalFileIds: 3,
        statusUrl: '/v1/export/job-1',
        progressUrl: '/v1/export/job-1/progress',
      });
    },
    '/v1/export/job-1/progress': (_request, response) => {
      const final = finalSnapshot(scenario, server.baseUrl);
      openEventStream(response);
      response.write(sseFrame('snapshot', { ...final, status: 'processing', version: 1 }));
      response.end(sseFrame(final.status, final));
    },
    '/download/export.zip': (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/zip' });
      response.end(scenario.zip);
    },
  });
  servers.push(server);

  return server;
}

interface RunRecord {
  exitCode: Promise<number>;
  printed: string[];
  versions: number[];
  viewsCreated: () => number;
}

function run(server: TestServer, overrides: Partial<RunOptions> = {}): RunRecord {
  const printed: string[] = [];
  const versions: number[] = [];
  let views = 0;
  const view: ProgressView = {
    update: (snapshot) => versions.push(snapshot.version),
    notice: () => {},
    stop: () => {},
  };

  const exitCode = runExport({
    apiUrl: server.baseUrl,
    fileIds: [70000, 70001, 70009],
    outPath: undefined,
    readSource: async (fileId) => {
      const data = sources.get(fileId);
      return data === undefined ? null : Readable.from([data]);
    },
    createView: () => {
      views += 1;
      return view;
    },
    print: (text) => printed.push(text),
    signal: new AbortController().signal,
    ...overrides,
  });

  return { exitCode, printed, versions, viewsCreated: () => views };
}

async function temporaryDirectories(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('export-cli-'));
}

describe('runExport', () => {
  it('returns 0 when everything matches', async () => {
    const server = await startApi({ zip: await buildZip([70000, 70001]) });
    const before = await temporaryDirectories();

    const record = run(server);

    expect(await record.exitCode).toBe(0);
    expect(record.printed[0]).toBe('Export job-1 accepted with 3 file id(s).');
    expect(record.printed[1]).toContain('entries verified  2 of 2');
    expect(record.printed[1]).toContain('missing ids       70009');
    expect(record.printed[1]).toContain('Verification passed');
    expect(record.versions).toEqual([1, 2]);
    expect(await temporaryDirectories()).toEqual(before);
  });

  it('keeps the zip at --out', async () => {
    const zip = await buildZip([70000, 70001]);
    const server = await startApi({ zip });
    const outPath = join(directory, 'kept.zip');

    const record = run(server, { outPath });

    expect(await record.exitCode).toBe(0);
    expect((await readFile(outPath)).equals(zip)).toBe(true);
    expect(record.printed[1]).toContain(outPath);
  });

  it('returns 1 on a digest mismatch', async () => {
    const server = await startApi({
      zip: await buildZip([70000, 70001]),
      reportedSha256: '0'.repeat(64),
    });

    const record = run(server);

    expect(await record.exitCode).toBe(1);
    expect(record.printed[1]).toContain('zip SHA-256 is');
    expect(record.printed[1]).toContain('Verification failed with 1 problem(s)');
  });

  it('returns 1 on a missing entry', async () => {
    const server = await startApi({ zip: await buildZip([70000]) });

    const record = run(server);

    expect(await record.exitCode).toBe(1);
    expect(record.printed[1]).toContain('file 70001 has no zip entry and is not in missingFileIds');
  });

  it('returns 1 with the job error', async () => {
    const error = { code: 'all_files_missing', message: 'None of the files exist' };
    const server = await startApi({ zip: Buffer.alloc(0), error });

    const record = run(server);

    expect(await record.exitCode).toBe(1);
    expect(record.printed[1]).toBe(
      'Export job-1 failed: all_files_missing: None of the files exist',
    );
    expect(server.requests.some((request) => request.path.startsWith('/download'))).toBe(false);
  });

  it('throws a rejected request before any view', async () => {
    const server = await startApi({ zip: Buffer.alloc(0), rejectPost: true });

    const record = run(server);

    await expect(record.exitCode).rejects.toBeInstanceOf(ApiError);
    await expect(record.exitCode).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'file_ids',
    });
    expect(record.viewsCreated()).toBe(0);
  });
});
