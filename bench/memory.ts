/**
 * Peak memory of the worker process. One fresh worker builds a 100 MiB export (10 x 10 MiB),
 * and another fresh worker a 1 GiB export (10 x 100 MiB). Each one's peak RSS (VmHWM) is read
 * from /proc before it stops.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';

import { createExport, watchRecords, type RecordWatcher } from './lib/exports.js';
import { startOtlpSink } from './lib/otlp-sink.js';
import { type Figure, loadNow, type Sample } from './lib/report.js';
import {
  ensureSources,
  fileIdsOf,
  large,
  MiB,
  s3ClientFor,
  small,
  type SourceSet,
} from './lib/sources.js';
import { type ApiProcess, type Stack, startApi, startStack, startWorker } from './lib/stack.js';
import type { BenchmarkOptions } from './run.js';

export async function runMemoryBenchmark(options: BenchmarkOptions): Promise<Figure[]> {
  const rounds = options.quick ? 1 : 3;
  const stack = await startStack('memory');
  const sink = await startOtlpSink();
  const tracingEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint };

  try {
    await ensureSources(stack, small);
    await ensureSources(stack, large);
    const api = await startApi(stack, { tracing: true, env: tracingEnv });
    const watcher = await watchRecords(stack);

    try {
      const samples: Sample[] = [];
      const seconds: number[] = [];
      const idle: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const baseline = await peakRss(stack, api, watcher, small, tracingEnv);
        const service = await peakRss(stack, api, watcher, large, tracingEnv);
        samples.push({ service: service.peakMiB, baseline: baseline.peakMiB, load: loadNow() });
        seconds.push(service.seconds);
        idle.push(baseline.idleMiB, service.idleMiB);
      }

      return [
        {
          name: 'worker peak RSS, 1 GiB export vs 100 MiB export',
          unit: 'MiB',
          baselineName: '100 MiB export',
          samples,
          target: { kind: 'max-ratio', ratio: 1.2, maxService: 200 },
          notes: [
            `fresh worker per export, tracing on, WORKER_CONCURRENCY 2, 64 MiB upload budget; ` +
              `the 1 GiB export took ${seconds.map((s) => s.toFixed(0)).join(', ')} s`,
            `RSS of the started worker before its export: ` +
              `${idle.map((mib) => mib.toFixed(0)).join(', ')} MiB`,
          ],
        },
      ];
    } finally {
      watcher.close();
      await api.child.stop();
    }
  } finally {
    await sink.stop();
    await stack.stop();
  }
}

/** Builds one export of `set` on a fresh worker and returns the worker's peak RSS. */
async function peakRss(
  stack: Stack,
  api: ApiProcess,
  watcher: RecordWatcher,
  set: SourceSet,
  env: Record<string, string>,
): Promise<{ peakMiB: number; idleMiB: number; seconds: number }> {
  const worker = await startWorker(stack, { tracing: true, env });
  try {
    const idleMiB = (await worker.rssBytes()) / MiB;
    const startedAt = Date.now();
    const jobId = await createExport(api.url, fileIdsOf(set));
    await watcher.completed(jobId, 600_000);
    const peakMiB = (await worker.peakRssBytes()) / MiB;

    const s3 = s3ClientFor(stack);
    await s3.send(new DeleteObjectCommand({ Bucket: 'exports', Key: `exports/${jobId}.zip` }));
    s3.destroy();

    return { peakMiB, idleMiB, seconds: (Date.now() - startedAt) / 1000 };
  } finally {
    await worker.stop();
  }
}
