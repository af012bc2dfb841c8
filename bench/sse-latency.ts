/**
 * Progress-to-client latency with 1,000 SSE subscribers on one export. The subscribers connect
 * while the export waits in the queue, then a worker starts and builds it (100 MiB, 10 x 10
 * MiB). Each frame's delay runs from its `updatedAt`, stamped by the worker just before the
 * record is written, to its arrival in the client process.
 */
import { spawnNode } from './lib/child.js';
import { createExport } from './lib/exports.js';
import { startOtlpSink } from './lib/otlp-sink.js';
import { type Figure, loadNow, type Sample } from './lib/report.js';
import { ensureSources, fileIdsOf, small } from './lib/sources.js';
import { type Stack, startApi, startStack, startWorker } from './lib/stack.js';
import type { BenchmarkOptions } from './run.js';

const subscribers = 1_000;

/** The summary that the client process prints at the end of a latency run. */
interface LatencyReport {
  frames: number;
  p50: number;
  p99: number;
  max: number;
  stillOpen: number;
  minFramesPerStream: number;
  maxFramesPerStream: number;
}

export async function runSseLatencyBenchmark(options: BenchmarkOptions): Promise<Figure[]> {
  const stack = await startStack('sse-latency');
  const sink = await startOtlpSink();

  try {
    await ensureSources(stack, small);
    const figures = [await measure(stack, sink.endpoint, true, options)];
    if (!options.quick) figures.push(await measure(stack, sink.endpoint, false, options));

    return figures;
  } finally {
    await sink.stop();
    await stack.stop();
  }
}

/** Runs the rounds with the API and the worker both with tracing on, or both with it off. */
async function measure(
  stack: Stack,
  otlpEndpoint: string,
  tracing: boolean,
  options: BenchmarkOptions,
): Promise<Figure> {
  const rounds = options.quick ? 1 : 3;
  const env: Record<string, string> = tracing ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint } : {};
  const settings = { tracing, env };
  const api = await startApi(stack, {
    ...settings,
    raiseOpenFileLimit: true,
    nodeFlags: options.profileFlags,
  });
  const samples: Sample[] = [];
  const reports: LatencyReport[] = [];

  try {
    for (let round = 0; round < rounds; round++) {
      const jobId = await createExport(api.url, fileIdsOf(small));
      const clients = spawnNode(
        'bench/clients/sse-clients.ts',
        [`${api.url}/v1/export/${jobId}/progress`, String(subscribers), 'latency'],
        { env: {}, raiseOpenFileLimit: true },
      );
      const readyLine = await clients.waitForLine(
        (line) => line.includes('"ready"'),
        'ready',
        120_000,
      );
      const ready = JSON.parse(readyLine) as { ready: number };
      if (ready.ready !== subscribers)
        throw new Error(`Only ${ready.ready} of ${subscribers} subscribers connected`);

      // The worker starts only now, so that every subscriber receives every progress frame.
      const worker = await startWorker(stack, settings);
      const line = await clients.waitForLine(
        (text) => text.includes('"frames"'),
        'its latencies',
        300_000,
      );
      await worker.stop();
      await clients.stop();

      const report = JSON.parse(line) as LatencyReport;
      reports.push(report);
      samples.push({ service: report.p99, load: loadNow() });
    }
  } finally {
    await api.child.stop();
  }

  const describe = (report: LatencyReport) =>
    `${report.frames} frames, p50 ${report.p50} ms, p99 ${report.p99} ms, max ${report.max} ms, ` +
    `${report.minFramesPerStream}-${report.maxFramesPerStream} frames per subscriber`;
  const tracingState = tracing ? 'on' : 'off';
  return {
    name: `progress-to-SSE-client latency p99, ${subscribers} subscribers [tracing ${tracingState}]`,
    unit: 'ms',
    samples,
    target: { kind: 'max', value: 50 },
    notes: [
      `API and worker with tracing ${tracingState}; clients in one separate process`,
      ...reports.map(describe),
    ],
  };
}
