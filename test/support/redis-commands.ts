/** A private redis-server for tests of the Redis adapters, and a count of commands sent. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { Redis } from 'ioredis';

import { type LocalRedis, startRedisServer } from '../../infra/local/redis-server.js';

/** Starts a redis-server in a temporary folder, which `stop` removes. */
export async function startPrivateRedis(): Promise<LocalRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'export-service-redis-'));
  const server = await startRedisServer({ dir });

  return {
    ...server,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Records the name of every command `redis` sends, by wrapping its `sendCommand`. Commands
 * that a Lua script runs inside Redis are not sent, so they are not recorded.
 */
export function recordCommands(redis: Redis): string[] {
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    sent.push(args[0].name);
    return send(...args);
  }) as Redis['sendCommand'];

  return sent;
}
