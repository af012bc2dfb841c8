/**
 * Resident memory that loading the OpenTelemetry SDK adds to a process: the NodeSDK with
 * every auto-instrumentation, against a tracer provider with only the exporters and
 * instrumentations the service uses, as `runtime/telemetry/sdk.ts` loads them.
 * Usage: node --expose-gc bench/experiments/module-memory.mjs node-sdk|minimal
 * NOTE: the service no longer depends on @opentelemetry/sdk-node and
 * @opentelemetry/auto-instrumentations-node, so `node-sdk` needs them installed first with
 * `npm install --no-save`.
 */
const modules = {
  'node-sdk': ['@opentelemetry/sdk-node', '@opentelemetry/auto-instrumentations-node'],
  minimal: [
    '@opentelemetry/sdk-trace-base',
    '@opentelemetry/context-async-hooks',
    '@opentelemetry/sdk-metrics',
    '@opentelemetry/exporter-trace-otlp-http',
    '@opentelemetry/exporter-prometheus',
    '@opentelemetry/instrumentation-http',
    '@opentelemetry/instrumentation-ioredis',
    '@opentelemetry/instrumentation-aws-sdk',
    '@opentelemetry/instrumentation-pino',
    '@opentelemetry/instrumentation-undici',
  ],
};

const choice = process.argv[2];
if (!(choice in modules)) {
  console.error('Usage: node --expose-gc bench/experiments/module-memory.mjs node-sdk|minimal');
  process.exit(2);
}

const before = process.memoryUsage().rss;
for (const name of modules[choice]) {
  const loaded = await import(name);
  // The auto-instrumentations load their packages only when asked for the list.
  loaded.getNodeAutoInstrumentations?.();
}
globalThis.gc?.();
console.log(
  `${choice}: ${((process.memoryUsage().rss - before) / 1048576).toFixed(0)} MiB more RSS`,
);
