import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportSnapshot, ExportStatus } from '../../functions/lib/snapshot.js';
import { createExport, delay, getSnapshot } from '../support/api.js';
import { holdSourceReads } from '../support/hold-reads.js';
import { type RunningService, startService } from '../support/service.js';

const sources = [90_001, 90_002, 90_003].map((fileId) => ({
  fileId,
  bytes: randomBytes(2_000_000),
}));
const statusOrder: Record<ExportStatus, number> = {
  queued: 0,
  processing: 1,
  completed: 2,
  failed: 2,
  cancelled: 2,
  expired: 3,
};
const pollIntervalMs = 20;
const pollTimeoutMs = 30_000;

let service: RunningService;
let snapshots: ExportSnapshot[];

beforeAll(async () => {
  service = await startService();
  for (const source of sources) await service.putSource(source.fileId, source.bytes);

  // The second read waits until a poll has seen the export processing, so polls see every stage.
  const readGate = holdSourceReads(service.services.deps.store, 1);
  try {
    const { body } = await createExport(service.url, sources.map((source) => source.fileId));
    snapshots = await pollUntilEnded(body.statusUrl, (snapshot) => {
      if (snapshot.status === 'processing') readGate.release();
    });
  } finally {
    readGate.release();
    readGate.restore();
  }
});

afterAll(async () => {
  await service?.stop();
});

describe('polling an export', () => {
  it('ends completed', () => {
    expect(snapshots.at(-1)?.status).toBe('completed');
    expect(snapshots.at(-1)?.progress.percent).toBe(100);
  });

  it('sees the export processing', () => {
    expect(snapshots.some((snapshot) => snapshot.status === 'processing')).toBe(true);
  });

  it('starts queued or processing', () => {
    expect(['queued', 'processing']).toContain(snapshots[0]?.status);
  });

  it('never moves status backwards', () => {
    for (let index = 1; index < snapshots.length; index++) {
      const before = statusOrder[snapshots[index - 1]!.status];
      const after = statusOrder[snapshots[index]!.status];

      expect(after).toBeGreaterThanOrEqual(before);
    }
  });

  it('never lowers the version', () => {
    for (let index = 1; index < snapshots.length; index++) {
      expect(snapshots[index]!.version).toBeGreaterThanOrEqual(snapshots[index - 1]!.version);
    }
  });

  it('changes the version with the content', () => {
    const byVersion = new Map<number, string>();
    for (const snapshot of snapshots) {
      const content = JSON.stringify(snapshot);
      const seen = byVersion.get(snapshot.version) ?? content;
      byVersion.set(snapshot.version, content);

      expect(content).toBe(seen);
    }
    expect(byVersion.size).toBeGreaterThanOrEqual(3);
  });

  it('never moves progress backwards', () => {
    for (let index = 1; index < snapshots.length; index++) {
      const before = snapshots[index - 1]!.progress;
      const after = snapshots[index]!.progress;

      expect(after.percent).toBeGreaterThanOrEqual(before.percent);
      expect(after.bytesDone).toBeGreaterThanOrEqual(before.bytesDone);
    }
  });
});

/** Polls `path` until the export ends and returns every snapshot read, in order. */
async function pollUntilEnded(
  path: string,
  onSnapshot: (snapshot: ExportSnapshot) => void,
): Promise<ExportSnapshot[]> {
  const polled: ExportSnapshot[] = [];
  const deadline = Date.now() + pollTimeoutMs;

  while (Date.now() < deadline) {
    const snapshot = await getSnapshot(service.url, path);
    polled.push(snapshot);
    onSnapshot(snapshot);
    if (snapshot.status === 'completed' || snapshot.status === 'failed') return polled;

    await delay(pollIntervalMs);
  }

  throw new Error(`The export at ${path} did not end within ${pollTimeoutMs} ms of polling`);
}
