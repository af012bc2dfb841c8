/**
 * create-export through nginx against the API direct, with 32 client connections (the size of
 * nginx's upstream keepalive pool in `nginx/nginx.conf.template`) and with 50. Tracing off.
 * Usage: npx tsx bench/experiments/nginx-keepalive.ts
 */
import path from 'node:path';

import { startNginx } from '../../infra/local/nginx.js';
import { runLoad } from '../lib/load.js';
import { loadNow } from '../lib/report.js';
import { benchDir, startApi, startStack } from '../lib/stack.js';

const body = JSON.stringify({ file_ids: [70000, 70001, 70002], join: false });
const stack = await startStack('nginx-keepalive');
try {
  const api = await startApi(stack, { tracing: false });
  const nginx = await startNginx({
    dir: path.join(benchDir, 'nginx-keepalive'),
    apiUpstream: `127.0.0.1:${api.port}`,
    maxBodyBytes: 65_536,
  });
  const rate = async (baseUrl: string, connections: number, durationSeconds = 5) => {
    const headers = { 'Content-Type': 'application/json' };
    const result = await runLoad({
      url: `${baseUrl}/v1/export`,
      method: 'POST',
      body,
      headers,
      connections,
      durationSeconds,
    });
    return result.requestsPerSecond;
  };

  await rate(api.url, 32, 2);
  await rate(nginx.url, 32, 2);
  for (let round = 0; round < 3; round++) {
    for (const connections of [32, 50]) {
      const direct = await rate(api.url, connections);
      const proxied = await rate(nginx.url, connections);
      console.log(
        `${connections} connections: API ${direct.toFixed(0)}/s, nginx ${proxied.toFixed(0)}/s, ` +
          `ratio ${(proxied / direct).toFixed(2)}, load ${loadNow().toFixed(1)}`,
      );
    }
  }

  await nginx.stop();
  await api.child.stop();
} finally {
  await stack.stop();
}
process.exit(0);
