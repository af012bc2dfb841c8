/**
 * One-file exports completed end to end per second: POST /v1/export to the API and a worker
 * building each zip, against a bare BullMQ producer and worker making the same S3 calls. Both
 * workers run 10 jobs at once, and both producers keep 10 requests in flight.
 */
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

import { type Child, spawnNode } from './lib/child.js';
import { createExport, watchRecords } from './lib/exports.js';
import { type OtlpSink, startOtlpSink } from './lib/otlp-sink.js';
import { rawQueueName, rawQueuePrefix, type RawJobData } from './lib/raw-queue.js';
import { type Figure, loadNow, type Sample } from './lib/report.js';
import { ensureSources, tiny } from './lib/sources.js';
import { type Stack, startApi, startStack, startWorker } from './lib/stack.js';
import type { BenchmarkOptions } from './run.js';

const concurrency = 10;

export async function runE2eBenchmark(options: BenchmarkOptions): Promise<Figure[]> {
  const stack = await startStack('e2e');
  const sink = await startOtlpSink();

  try {
    await ensureSources(stack, tiny);
    const rawWorker = spawnNode('bench/baselines/bullmq-worker.ts', [String(concurrency)], {
      env: stack.env,
    });
    await rawWorker.waitForLine((line) => line === 'ready', '"ready"');

    try {
      const figures = [await measure(stack, sink, true, options)];
      if (!options.quick) figures.push(await measure(stack, sink, false, options));

      return figures;
    } finally {
      await rawWorker.stop();
    }
  } finally {
    await sink.stop();
    await stack.stop();
  }
}

/** Runs the rounds with the API and the worker both with tracing on, or both with it off. */
async function measure(
  stack: Stack,
  sink: OtlpSink,
  tracing: boolean,
  options: BenchmarkOptions,
): Promise<Figure> {
  const exportsPerRun = options.quick ? 100 : 300;
  const rounds = options.quick ? 1 : 3;
  const env: Record<string, string> = { WORKER_CONCURRENCY: String(concurrency) };
  if (tracing) env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.endpoint;
  const api = await startApi(stack, { tracing, env });
  const worker = await startWorker(stack, { tracing, env, nodeFlags: options.profileFlags });

  try {
    const samples: Sample[] = [];
    // The first round of each warms up connections and scripts and is not counted.
    for (let round = 0; round <= rounds; round++) {
      const baseline = await rawRate(stack, exportsPerRun);
      const service = await serviceRate(stack, api.url, exportsPerRun);
      // The next baseline run must not share the cores with this run's span exports.
      if (tracing) await sink.quiet();
      if (round > 0) samples.push({ service, baseline, load: loadNow() });
    }

    const tracingState = tracing ? 'on' : 'off';
    return {
      name: `one-file exports completed end to end per second [tracing ${tracingState}]`,
      unit: 'exports/s',
      baselineName: 'bare BullMQ add and process, same S3 calls',
      samples,
      target: { kind: 'min-ratio', ratio: 0.5 },
      notes: [
        `${exportsPerRun} exports of one 64 KiB file per run; ${concurrency} requests in flight, ` +
          `WORKER_CONCURRENCY ${concurrency}; API and worker with tracing ${tracingState}`,
      ],
    };
  } finally {
    await stopAll([worker, api.child]);
  }
}

/** Posts `count` one-file exports, 10 at a time, and returns completions per second. */
async function serviceRate(stack: Stack, apiUrl: string, count: number): Promise<number> {
  const watcher = await watchRecords(stack);
  const startedAt = performance.now();
  try {
    await inParallel(count, async (index) => {
      const jobId = await createExport(apiUrl, [tiny.firstId + (index % tiny.count)]);
      await watcher.completed(jobId, 120_000);
    });
  } finally {
    watcher.close();
  }

  return count / ((performance.now() - startedAt) / 1000);
}

/** Adds `count` jobs to the baseline queue, 10 at a time, and returns completions per second. */
async function rawRate(stack: Stack, count: number): Promise<number> {
  // BullMQ leaves connections that it is given open, so they are closed below.
  const connections = [1, 2].map(() => new Redis(stack.redisUrl, { maxRetriesPerRequest: null }));
  const queue = new Queue<RawJobData>(rawQueueName, {
    connection: connections[0]!,
    prefix: rawQueuePrefix,
  });
  const events = new QueueEvents(rawQueueName, {
    connection: connections[1]!,
    prefix: rawQueuePrefix,
  });
  await events.waitUntilReady();

  const pending = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  events.on('completed', ({ jobId }) => pending.get(jobId)?.resolve());
  events.on('failed', ({ jobId, failedReason }) => {
    pending.get(jobId)?.reject(new Error(`Baseline job ${jobId} failed: ${failedReason}`));
  });

  const startedAt = performance.now();
  try {
    await inParallel(count, async (index) => {
      const jobId = `raw-${Date.now()}-${index}`;
      const done = new Promise<void>((resolve, reject) => pending.set(jobId, { resolve, reject }));
      const data = { fileId: tiny.firstId + (index % tiny.count), jobId };
      await queue.add('raw-export', data, { jobId, removeOnComplete: true });
      await done;
    });
  } finally {
    await events.close();
    await queue.close();
    for (const connection of connections) connection.disconnect();
  }

  return count / ((performance.now() - startedAt) / 1000);
}

/** Runs `task(0)` to `task(count - 1)` with at most `concurrency` of them at once. */
async function inParallel(count: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(lanes);
}

async function stopAll(children: Child[]): Promise<void> {
  for (const child of children) await child.stop();
}
