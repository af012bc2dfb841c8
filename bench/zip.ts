/**
 * Zip build throughput, S3 to zip to S3: the worker building a 100 MiB export (10 x 10 MiB)
 * against a plain copy of the same bytes from GET requests into one multipart upload.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';

import { spawnNode } from './lib/child.js';
import { buildMilliseconds, createExport, watchRecords } from './lib/exports.js';
import { startOtlpSink } from './lib/otlp-sink.js';
import { type Figure, loadNow, type Sample } from './lib/report.js';
import { ensureSources, fileIdsOf, s3ClientFor, small, totalBytes } from './lib/sources.js';
import { type Stack, startApi, startStack, startWorker } from './lib/stack.js';
import type { BenchmarkOptions } from './run.js';

const rounds = 3;

export async function runZipBenchmark(options: BenchmarkOptions): Promise<Figure[]> {
  const stack = await startStack('zip');
  const sink = await startOtlpSink();
  const s3 = s3ClientFor(stack);

  try {
    await ensureSources(stack, small);
    const traced = { tracing: true, env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint } };
    const api = await startApi(stack, traced);
    const worker = await startWorker(stack, {
      ...traced,
      nodeFlags: options.profileFlags,
    });
    const watcher = await watchRecords(stack);
    const deleteZip = (key: string) =>
      s3.send(new DeleteObjectCommand({ Bucket: 'exports', Key: key }));

    const serviceRate = async () => {
      const jobId = await createExport(api.url, fileIdsOf(small));
      await watcher.completed(jobId, 300_000);
      await deleteZip(`exports/${jobId}.zip`);
      return megabytesPerSecond(totalBytes(small), buildMilliseconds(watcher, jobId));
    };
    const baselineRate = async (round: number) => {
      const result = await copyRaw(stack, `bench/raw-copy-${round}.bin`);
      await deleteZip(`bench/raw-copy-${round}.bin`);
      return megabytesPerSecond(result.bytes, result.milliseconds);
    };

    try {
      await baselineRate(0);
      await serviceRate();
      const samples: Sample[] = [];
      for (let round = 1; round <= rounds; round++) {
        const baseline = await baselineRate(round);
        const service = await serviceRate();
        samples.push({ service, baseline, load: loadNow() });
      }

      return [
        {
          name: 'zip build MB/s, S3 to zip to S3 (100 MiB: 10 x 10 MiB)',
          unit: 'MB/s',
          baselineName: 'GET into one multipart upload',
          samples,
          target: { kind: 'min-ratio', ratio: 0.7 },
          notes: ['worker time from "processing" to "completed"; tracing on; 64 MiB upload budget'],
        },
      ];
    } finally {
      watcher.close();
      await worker.stop();
      await api.child.stop();
    }
  } finally {
    s3.destroy();
    await sink.stop();
    await stack.stop();
  }
}

/** Runs the raw copy in its own process and returns its time and byte count. */
async function copyRaw(
  stack: Stack,
  destination: string,
): Promise<{ milliseconds: number; bytes: number }> {
  const keys = fileIdsOf(small).map((fileId) => `downloads/${fileId}.zip`);
  const child = spawnNode('bench/baselines/raw-copy.ts', [destination, ...keys], {
    env: stack.env,
  });
  const line = await child.waitForLine((text) => text.startsWith('{'), 'its result', 300_000);
  await child.stop();

  return JSON.parse(line) as { milliseconds: number; bytes: number };
}

function megabytesPerSecond(bytes: number, milliseconds: number): number {
  return bytes / 1e6 / (milliseconds / 1000);
}
