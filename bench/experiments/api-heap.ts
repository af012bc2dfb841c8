/**
 * Shows whether the API keeps memory per request. It runs the API in this process, sends it
 * two 5 s runs of GET /v1/export/:id and then two of POST /v1/export from autocannon (20
 * connections), and prints `process.memoryUsage()` after a full garbage collection at the end
 * of each run. Tracing is off. Usage: node --expose-gc --import tsx bench/experiments/api-heap.ts
 */
import { createLogger } from '../../infra/logger.js';
import { loadConfig } from '../../runtime/config.js';
import { createServices } from '../../runtime/dependencies.js';
import { startApi } from '../../runtime/processes.js';
import { findFreePort } from '../lib/child.js';
import { createExport } from '../lib/exports.js';
import { type LoadOptions, runLoad } from '../lib/load.js';
import { startStack } from '../lib/stack.js';

if (!globalThis.gc) {
  console.error('Run with node --expose-gc, so that each figure follows a full collection.');
  process.exit(2);
}

const stack = await startStack('api-heap');
try {
  const config = loadConfig({ ...stack.env, API_PORT: String(await findFreePort()) });
  const logger = createLogger({ level: 'warn', service: 'api' });
  const services = createServices(config, stack.redisUrl, logger);
  const api = await startApi(config, services, logger);

  const printMemory = (label: string) => {
    globalThis.gc?.();
    const usage = Object.entries(process.memoryUsage()).map(
      ([name, bytes]) => `${name} ${(bytes / 1048576).toFixed(0)} MiB`,
    );
    console.log(`${label.padEnd(28)} ${usage.join(', ')}`);
  };
  const measure = async (name: string, load: LoadOptions) => {
    const result = await runLoad(load);
    printMemory(`after ${result.total} ${name}`);
  };

  printMemory('started');
  const statusUrl = `${api.url}/v1/export/${await createExport(api.url, [70000])}`;
  const status = { url: statusUrl, connections: 20, durationSeconds: 5 };
  const create: LoadOptions = {
    url: `${api.url}/v1/export`,
    method: 'POST',
    body: JSON.stringify({ file_ids: [70000], join: false }),
    headers: { 'Content-Type': 'application/json' },
    connections: 20,
    durationSeconds: 5,
  };
  for (let run = 0; run < 2; run++) await measure('status requests', status);
  for (let run = 0; run < 2; run++) await measure('creates', create);

  await api.close();
  await services.close();
} finally {
  await stack.stop();
}
process.exit(0);
