import { runLoad } from '../lib/load.js';
import { createExport } from '../lib/exports.js';
import { startApi, startStack } from '../lib/stack.js';
import { loadNow } from '../lib/report.js';
const stack = await startStack('degrade');
for (const tracing of [true, false]) {
  await stack.redis.flushall();
  const api = await startApi(stack, { tracing });
  const id = await createExport(api.url, [70000]);
  const status = { url: `${api.url}/v1/export/${id}`, connections: 50, durationSeconds: 5 };
  const out: string[] = [];
  for (let i = 0; i < 5; i++) out.push((await runLoad(status)).requestsPerSecond.toFixed(0));
  const create = { url: `${api.url}/v1/export`, method: 'POST' as const, body: '{"file_ids":[70000],"join":false}', headers: { 'Content-Type': 'application/json' }, connections: 50, durationSeconds: 5 };
  const outc: string[] = [];
  for (let i = 0; i < 5; i++) outc.push((await runLoad(create)).requestsPerSecond.toFixed(0));
  const out2: string[] = [];
  for (let i = 0; i < 3; i++) out2.push((await runLoad(status)).requestsPerSecond.toFixed(0));
  const rss = ((await api.child.rssBytes()) / 1048576).toFixed(0);
  console.log(`tracing ${tracing}: status ${out.join(' ')} | create ${outc.join(' ')} | status again ${out2.join(' ')} | API RSS ${rss} MiB | load ${loadNow().toFixed(1)}`);
  await api.child.stop();
}
await stack.stop();
process.exit(0);
