/**
 * `npm run api-key -- create OWNER` prints a new API key for OWNER once; `revoke KEY` removes
 * one. Keys are stored as SHA-256 hashes in the Redis of REDIS_URL, or of the running local
 * stack when REDIS_URL is unset.
 */
import { Redis } from 'ioredis';

import { readStackFile } from '../infra/local/stack-file.js';
import { RedisApiKeys } from '../infra/redis/api-keys.js';
import { loadConfigOrExit } from '../runtime/entry/startup.js';

const usage = 'Usage: npm run api-key -- create OWNER | revoke KEY';
const [command, argument] = process.argv.slice(2);
if ((command !== 'create' && command !== 'revoke') || !argument) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

const config = loadConfigOrExit();
const redisUrl = config.redisUrl ?? (await readStackFile(config.localStackDir))?.redisUrl;
if (!redisUrl) {
  process.stderr.write('REDIS_URL is not set and no local stack is running (npm start).\n');
  process.exit(1);
}

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
const keys = new RedisApiKeys(redis, config.redisPrefix);
try {
  if (command === 'create') {
    process.stdout.write(`${await keys.create(argument)}\n`);
    process.stderr.write('Store this key now: only its hash is kept.\n');
  } else if (!(await keys.revoke(argument))) {
    process.stderr.write('No such key.\n');
    process.exitCode = 1;
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
