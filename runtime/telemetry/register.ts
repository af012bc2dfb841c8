/**
 * Loaded with `node --import` before the entry point, so OpenTelemetry patches ioredis, the
 * AWS SDK, pino and node:http before they load. Under ESM the patches only apply through the
 * loader hook, which must be registered before the SDK itself is imported.
 */
import { register } from 'node:module';
import path from 'node:path';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const { loadConfig } = await import('../config.js');
const { startTelemetry } = await import('./sdk.js');
const { setTelemetry } = await import('./current.js');

// The entry file's name names the service (export-api, export-worker, export-local) unless
// OTEL_SERVICE_NAME does.
const entryName = path.basename(process.argv[1] ?? 'export-service', '.ts');

try {
  const config = loadConfig(process.env);
  setTelemetry(startTelemetry(config.telemetry, `export-${entryName}`));
} catch (error) {
  // A bad setting is reported by the entry point with all the others; start without telemetry.
  process.stderr.write(`Telemetry not started: ${(error as Error).message.split('\n')[0]}\n`);
}
