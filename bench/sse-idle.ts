/**
 * Idle SSE connections that one API process holds: 10,000 streams of one queued export, opened
 * from a separate process. While they are open, CLIENT LIST on the benchmark's Redis shows how
 * many connections subscribe; the streams must share one. Each stream takes one file
 * descriptor in each process, so both raise their open-file limit to the hard limit, which
 * must be above 10,000 (`ulimit -Hn`). A last run opens the same streams through nginx with
 * the config from `nginx/`, to show what its `worker_connections` allow.
 */
import path from 'node:path';

import { startNginx } from '../infra/local/nginx.js';
import { type Child, spawnNode } from './lib/child.js';
import { createExport } from './lib/exports.js';
import { startOtlpSink } from './lib/otlp-sink.js';
import { type Figure, loadNow, type Sample } from './lib/report.js';
import { benchDir, type Stack, startApi, startStack } from './lib/stack.js';
import type { BenchmarkOptions } from './run.js';

const connections = 10_000;
/** Descriptors each process needs besides the streams: Redis, S3, stdio, the tsx loader. */
const spareDescriptors = 200;
/** Longer than the 15 s heartbeat, so every stream receives a heartbeat while open. */
const holdSeconds = 20;

export async function runSseIdleBenchmark(options: BenchmarkOptions): Promise<Figure[]> {
  const rounds = options.quick ? 1 : 3;
  const stack = await startStack('sse-idle');
  const sink = await startOtlpSink();

  try {
    const startFreshApi = async () => {
      const api = await startApi(stack, {
        tracing: true,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint },
        raiseOpenFileLimit: true,
      });
      await checkOpenFileLimit(api.child);
      return api;
    };

    // A fresh API per run, so that its RSS growth is the streams' alone.
    const direct: Sample[] = [];
    const notes: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const api = await startFreshApi();
      const result = await holdStreams(stack, api.url, api.child).finally(() => api.child.stop());
      direct.push({ service: result.held, load: loadNow() });
      notes.push(result.note);
      if (result.subscribers !== 1)
        throw new Error(`${result.subscribers} Redis connections subscribe, expected 1`);
    }

    const api = await startFreshApi();
    const nginx = await startNginx({
      dir: path.join(benchDir, 'nginx-sse'),
      apiUpstream: `127.0.0.1:${api.port}`,
      maxBodyBytes: 65_536,
    });
    const proxied = await holdStreams(stack, nginx.url, api.child).finally(async () => {
      await nginx.stop();
      await api.child.stop();
    });

    return [
      {
        name: 'idle SSE connections one API process holds',
        unit: 'connections',
        samples: direct,
        target: { kind: 'min', value: connections },
        notes: [
          'tracing on; the open-file limit raised to the hard limit in the API and the client process',
          ...notes,
        ],
      },
      {
        name: 'idle SSE connections through nginx (config from nginx/)',
        unit: 'connections',
        samples: [{ service: proxied.held, load: loadNow() }],
        target: { kind: 'min', value: connections },
        notes: [proxied.note],
      },
    ];
  } finally {
    await sink.stop();
    await stack.stop();
  }
}

async function checkOpenFileLimit(api: Child): Promise<void> {
  const limit = await api.openFileLimit();
  if (limit >= connections + spareDescriptors) return;

  throw new Error(
    `The open-file limit is ${limit}, too low for ${connections} streams: raise the hard ` +
      `limit to ${connections + spareDescriptors} or more (as root: ulimit -Hn 65536).`,
  );
}

/** Opens the streams through `baseUrl`, keeps them open, and returns how many stayed open. */
async function holdStreams(stack: Stack, baseUrl: string, api: Child) {
  const before = await redisClients(stack);
  const rssBefore = await api.rssBytes();
  const jobId = await createExport(baseUrl, [70_000]);
  const clients = spawnNode(
    'bench/clients/sse-clients.ts',
    [`${baseUrl}/v1/export/${jobId}/progress`, String(connections), 'idle', String(holdSeconds)],
    { env: {}, raiseOpenFileLimit: true },
  );

  try {
    const readyLine = await clients.waitForLine(
      (line) => line.includes('"ready"'),
      'ready',
      300_000,
    );
    const during = await redisClients(stack);
    const rssDuring = await api.rssBytes();
    const heldLine = await clients.waitForLine((line) => line.includes('"held"'), 'held', 120_000);

    const ready = JSON.parse(readyLine) as { ready: number; failures: number };
    const held = JSON.parse(heldLine) as { held: number; heartbeats: number };
    const perStreamKiB = (rssDuring - rssBefore) / 1024 / Math.max(1, ready.ready);
    const note =
      `opened ${ready.ready} (${ready.failures} failed), held ${held.held} for ${holdSeconds} s ` +
      `with ${held.heartbeats} heartbeats; Redis connections ${before.total} before and ` +
      `${during.total} during, ${during.subscribers} subscribing; API RSS ` +
      `${mib(rssBefore)} to ${mib(rssDuring)} MiB, ${perStreamKiB.toFixed(1)} KiB per stream`;

    return { held: held.held, subscribers: during.subscribers, note };
  } finally {
    await clients.stop();
  }
}

/** Counts the connections to the benchmark's Redis and those with a channel subscription. */
async function redisClients(stack: Stack): Promise<{ total: number; subscribers: number }> {
  const list = (await stack.redis.call('CLIENT', 'LIST')) as string;
  const lines = list.split('\n').filter((line) => line.trim() !== '');
  const subscribers = lines.filter((line) => /\bsub=[1-9]/.test(line) || /\bpsub=[1-9]/.test(line));

  return { total: lines.length, subscribers: subscribers.length };
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
