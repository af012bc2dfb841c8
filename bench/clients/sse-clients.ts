/**
 * Opens many SSE connections to one URL from this process, with plain node:http requests.
 * Usage: sse-clients.ts URL COUNT latency|idle [HOLD_SECONDS]
 *
 * It prints `{"ready":N,...}` once every connection has received its first frame. In
 * `latency` mode it then waits for every stream to end and prints the delay from each frame's
 * `updatedAt` to its arrival. In `idle` mode it keeps the connections open for HOLD_SECONDS, prints
 * how many are still open, and exits.
 */
import http from 'node:http';

import { createParser } from 'eventsource-parser';

const [url, countArgument, mode, holdArgument] = process.argv.slice(2);
const count = Number(countArgument);
if (!url || !Number.isInteger(count) || (mode !== 'latency' && mode !== 'idle')) {
  process.stderr.write('Usage: sse-clients.ts URL COUNT latency|idle [HOLD_SECONDS]\n');
  process.exit(2);
}
const holdSeconds = Number(holdArgument ?? 20);
/** Connections opened at once; more would only queue in the API's accept backlog. */
const openingBatch = 250;
const endTimeoutMs = 300_000;

/** One stream: its request, the chunks it received with their arrival times, and its state. */
interface Stream {
  request: http.ClientRequest;
  chunks: Array<{ receivedAt: number; text: string }>;
  open: boolean;
  ended: Promise<void>;
}

const streams: Stream[] = [];
let failures = 0;
for (let opened = 0; opened < count; opened += openingBatch) {
  const batch = Array.from({ length: Math.min(openingBatch, count - opened) }, () =>
    openStream(url),
  );
  const results = await Promise.allSettled(batch.map((entry) => entry.firstFrame));
  batch.forEach((entry, index) => {
    if (results[index]!.status === 'fulfilled') streams.push(entry.stream);
    else failures += 1;
  });
}
print({ ready: streams.length, failures });

if (mode === 'latency') await reportLatencies();
else await holdIdle();
process.exit(0);

function openStream(target: string): { stream: Stream; firstFrame: Promise<void> } {
  const stream = { chunks: [], open: false } as unknown as Stream;
  let resolveEnded!: () => void;
  stream.ended = new Promise<void>((resolve) => (resolveEnded = resolve));

  const firstFrame = new Promise<void>((resolve, reject) => {
    stream.request = http.get(target, { agent: false }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`status ${response.statusCode}`));
        response.resume();
        return;
      }
      stream.open = true;
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        // Only the arrival time and the text are kept here, so that parsing cannot delay
        // the arrival time of the frames behind this one.
        stream.chunks.push({ receivedAt: Date.now(), text });
        resolve();
      });
      response.on('close', () => {
        stream.open = false;
        resolveEnded();
      });
    });
    stream.request.on('error', (error) => {
      stream.open = false;
      resolveEnded();
      reject(error);
    });
  });

  return { stream, firstFrame };
}

async function reportLatencies(): Promise<void> {
  const timeout = new Promise((resolve) => setTimeout(resolve, endTimeoutMs));
  await Promise.race([Promise.all(streams.map((stream) => stream.ended)), timeout]);

  const latencies: number[] = [];
  const framesPerStream: number[] = [];
  for (const stream of streams) {
    let receivedAt = 0;
    let frames = 0;
    const parser = createParser({
      onEvent(event) {
        // The first frame is the snapshot read at subscription time, not a live change.
        if (event.event === 'snapshot') return;
        const updatedAt = Date.parse((JSON.parse(event.data) as { updatedAt: string }).updatedAt);
        latencies.push(receivedAt - updatedAt);
        frames += 1;
      },
    });
    for (const chunk of stream.chunks) {
      receivedAt = chunk.receivedAt;
      parser.feed(chunk.text);
    }
    framesPerStream.push(frames);
  }

  latencies.sort((a, b) => a - b);
  const at = (fraction: number) =>
    latencies[Math.max(0, Math.ceil(fraction * latencies.length) - 1)] ?? NaN;
  print({
    frames: latencies.length,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? NaN,
    stillOpen: streams.filter((stream) => stream.open).length,
    minFramesPerStream: Math.min(...framesPerStream),
    maxFramesPerStream: Math.max(...framesPerStream),
  });
}

async function holdIdle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, holdSeconds * 1000));
  const heartbeats = streams.reduce(
    (sum, stream) =>
      sum + stream.chunks.filter((chunk) => chunk.text.startsWith(': heartbeat')).length,
    0,
  );
  print({ held: streams.filter((stream) => stream.open).length, heartbeats });
  for (const stream of streams) stream.request.destroy();
}

function print(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
