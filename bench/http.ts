/**
 * Request rates of POST /v1/export and GET /v1/export/:id: the API against bare Hono, and
 * nginx in front of the API against the API direct. Each round runs every target once in
 * turn, so that load from other work on the machine falls on all of them alike.
 */
import path from 'node:path';

import { startNginx } from '../infra/local/nginx.js';
import { RedisApiKeys } from '../infra/redis/api-keys.js';
import { type Child, findFreePort, spawnNode } from './lib/child.js';
import { type LoadOptions, runLoad } from './lib/load.js';
import { startOtlpSink } from './lib/otlp-sink.js';
import { type Figure, loadNow, type Sample } from './lib/report.js';
import { benchDir, type Stack, startApi, startStack } from './lib/stack.js';
import type { BenchmarkOptions } from './run.js';

/** One configuration of the API process. */
interface Variant {
  name: string;
  tracing: boolean;
  auth: boolean;
}

const variants: Variant[] = [
  { name: 'tracing on, auth off', tracing: true, auth: false },
  { name: 'tracing off, auth off', tracing: false, auth: false },
  { name: 'tracing on, auth on', tracing: true, auth: true },
];

const connections = 50;
const durationSeconds = 5;
const rounds = 3;
/** Three ids and `join: false`, so that every request makes a new export. */
const createBody = JSON.stringify({ file_ids: [70000, 70001, 70002], join: false });

export async function runHttpBenchmark(options: BenchmarkOptions): Promise<Figure[]> {
  const stack = await startStack('http');
  const bareHono = await startBareHono();
  const figures: Figure[] = [];

  try {
    const chosen = options.quick ? variants.slice(0, 1) : variants;
    for (const variant of chosen) {
      figures.push(...(await measureVariant(stack, bareHono.url, variant, options)));
    }
  } finally {
    await bareHono.child.stop();
    await stack.stop();
  }

  return figures;
}

async function measureVariant(
  stack: Stack,
  bareUrl: string,
  variant: Variant,
  options: BenchmarkOptions,
): Promise<Figure[]> {
  await stack.redis.flushall();
  const sink = await startOtlpSink();
  const api = await startApi(stack, {
    tracing: variant.tracing,
    env: {
      ...(variant.tracing ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint } : {}),
      ...(variant.auth ? { AUTH_ENABLED: 'true', READ_TOKEN_SECRET: 'b'.repeat(32) } : {}),
    },
    nodeFlags: options.profileFlags,
  });
  const nginx = await startNginx({
    dir: path.join(benchDir, 'nginx-http'),
    apiUpstream: `127.0.0.1:${api.port}`,
    maxBodyBytes: 65_536,
  });

  try {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (variant.auth) {
      const apiKey = await new RedisApiKeys(stack.redis, 'export').create('bench');
      headers.Authorization = `Bearer ${apiKey}`;
    }
    const statusPath = `/v1/export/${await createOne(api.url, headers)}`;
    const create = (base: string): LoadOptions => ({
      url: `${base}/v1/export`,
      method: 'POST',
      body: createBody,
      headers,
      connections,
      durationSeconds,
    });
    const status = (base: string): LoadOptions => ({
      url: `${base}${statusPath}`,
      headers,
      connections,
      durationSeconds,
    });

    // Warm-up: JIT, connection pools and Redis scripts, on every target once.
    for (const load of [
      create(bareUrl),
      create(api.url),
      create(nginx.url),
      status(api.url),
      status(nginx.url),
    ]) {
      await runLoad({ ...load, durationSeconds: 2 });
    }

    const samples = {
      create: [] as Sample[],
      status: [] as Sample[],
      createNginx: [] as Sample[],
      statusNginx: [] as Sample[],
    };
    // Bare Hono runs first in each set, and must not share the cores with the API's span exports.
    const quiet = () => (variant.tracing ? sink.quiet() : Promise.resolve());
    for (let round = 0; round < rounds; round++) {
      await quiet();
      const [bareCreate, apiCreate, nginxCreate] = await rates([
        create(bareUrl),
        create(api.url),
        create(nginx.url),
      ]);
      samples.create.push({ service: apiCreate, baseline: bareCreate, load: loadNow() });
      samples.createNginx.push({ service: nginxCreate, baseline: apiCreate, load: loadNow() });

      await quiet();
      const [bareStatus, apiStatus, nginxStatus] = await rates([
        status(bareUrl),
        status(api.url),
        status(nginx.url),
      ]);
      samples.status.push({ service: apiStatus, baseline: bareStatus, load: loadNow() });
      samples.statusNginx.push({ service: nginxStatus, baseline: apiStatus, load: loadNow() });
    }

    const traced = variant.tracing
      ? `${sink.requests()} OTLP trace exports received`
      : 'no OTLP exports';
    const notes = [`${connections} connections, ${durationSeconds} s per run; ${traced}`];
    const suffix = ` [${variant.name}]`;
    return [
      {
        name: `create-export requests/s${suffix}`,
        unit: 'req/s',
        baselineName: 'bare Hono',
        samples: samples.create,
        target: { kind: 'min-ratio', ratio: 0.5 },
        notes,
      },
      {
        name: `status requests/s${suffix}`,
        unit: 'req/s',
        baselineName: 'bare Hono',
        samples: samples.status,
        target: { kind: 'min-ratio', ratio: 0.7 },
        notes,
      },
      {
        name: `create-export requests/s through nginx${suffix}`,
        unit: 'req/s',
        baselineName: 'API direct',
        samples: samples.createNginx,
        target: { kind: 'min-ratio', ratio: 0.8 },
        notes,
      },
      {
        name: `status requests/s through nginx${suffix}`,
        unit: 'req/s',
        baselineName: 'API direct',
        samples: samples.statusNginx,
        target: { kind: 'min-ratio', ratio: 0.8 },
        notes,
      },
    ];
  } finally {
    await nginx.stop();
    await api.child.stop();
    await sink.stop();
  }
}

/** Runs the bare Hono, API and nginx loads one after another and returns their rates. */
async function rates(
  loads: [LoadOptions, LoadOptions, LoadOptions],
): Promise<[number, number, number]> {
  const [bare, api, nginx] = loads;

  return [
    (await runLoad(bare)).requestsPerSecond,
    (await runLoad(api)).requestsPerSecond,
    (await runLoad(nginx)).requestsPerSecond,
  ];
}

/** Creates one export for the status requests and returns its id. */
async function createOne(apiUrl: string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(`${apiUrl}/v1/export`, {
    method: 'POST',
    headers,
    body: createBody,
  });
  const text = await response.text();
  if (response.status !== 202)
    throw new Error(`POST /v1/export returned ${response.status}: ${text}`);

  return (JSON.parse(text) as { jobId: string }).jobId;
}

async function startBareHono(): Promise<{ url: string; child: Child }> {
  const port = await findFreePort();
  const child = spawnNode('bench/servers/bare-hono.ts', [], { env: { PORT: String(port) } });
  await child.waitForLine((line) => line === 'listening', '"listening"');

  return { url: `http://127.0.0.1:${port}`, child };
}
