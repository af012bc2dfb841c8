/**
 * Loaded with `node --import` before the entry point, so OpenTelemetry patches ioredis, the
 * AWS SDK, pino and node:http before they load. Under ESM the patches only apply through
 * import-in-the-middle's loader hook, which must be registered before the SDK itself is
 * imported.
 */
import { register } from 'node:module';
import path from 'node:path';

import { createAddHookMessageChannel } from 'import-in-the-middle';

// The channel sends the loader the names of the modules that the instrumentations hook, and
// the loader wraps only those. Wrapping every module, as OpenTelemetry's own `hook.mjs` does,
// cost the worker 19 MiB more RSS at start: 198 against 179 MiB by
// bench/experiments/started-memory.ts on a 2-core machine.
// NOTE: import-in-the-middle 3.6 marks the channel experimental, so rerun the telemetry
// integration test after upgrading it.
const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

const { loadConfig } = await import('../config.js');
const { startTelemetry } = await import('./sdk.js');
const { setTelemetry } = await import('./current.js');

// The entry file's name names the service (export-api, export-worker, export-local) unless
// OTEL_SERVICE_NAME does. The entry is TypeScript under tsx and JavaScript when compiled.
const entryFile = process.argv[1] ?? 'export-service';
const entryName = path.basename(entryFile, path.extname(entryFile));

try {
  const config = loadConfig(process.env);
  setTelemetry(startTelemetry(config.telemetry, `export-${entryName}`));

  // The entry point may import an instrumented module only once the loader has its name.
  await waitForLoader(10_000);
} catch (error) {
  // A bad setting is reported by the entry point with all the others; start without telemetry.
  process.stderr.write(`Telemetry not started: ${(error as Error).message.split('\n')[0]}\n`);
}

/** Waits up to `timeoutMs` for the loader to acknowledge the hooked modules, then returns. */
async function waitForLoader(timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const acknowledged = waitForAllMessagesAcknowledged().then(() => false);

  const late = await Promise.race([acknowledged, timedOut]);
  clearTimeout(timer);
  if (late) {
    process.stderr.write(
      `Telemetry loader hook timed out after ${timeoutMs} ms, so ES module imports of ` +
        'ioredis, pino, node:http and the AWS SDK may go untraced\n',
    );
  }
}
