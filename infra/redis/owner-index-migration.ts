/**
 * Moves owner indexes from the key names of earlier releases into the current ones. The
 * current names carry the owner as a hash tag (`prefix:exports-by-owner:{kim}`), so that one
 * script can update both indexes of an owner on a Redis Cluster. Keys named before that
 * (`prefix:exports-by-owner:kim`) live as long as their records, and without this move the
 * exports in them would drop out of listings and out of the active-export cap.
 */
import type { Redis } from 'ioredis';

import { asRedisError } from './unavailable.js';

const indexNames = ['exports-by-owner', 'active-by-owner'] as const;

/**
 * Merges every old-style owner index of `prefix` into its current key, keeping the later
 * expiry, and deletes the old key. Safe to run from several processes at once, because each
 * step is an idempotent ZADD followed by a DEL. Returns the number of keys moved.
 * NOTE: SCAN covers one server; on a Redis Cluster it has to run against every primary.
 */
export async function migrateOwnerIndexes(redis: Redis, prefix: string): Promise<number> {
  let moved = 0;
  for (const name of indexNames) {
    const pattern = `${prefix}:${name}:*`;
    for await (const keys of redis.scanStream({ match: pattern, count: 500 })) {
      for (const key of keys as string[]) {
        const owner = key.slice(`${prefix}:${name}:`.length);
        // Current keys are `{owner}`; owners cannot contain braces, so this is an old key.
        if (owner.startsWith('{')) continue;

        await moveIndex(redis, key, `${prefix}:${name}:{${owner}}`);
        moved += 1;
      }
    }
  }

  return moved;
}

async function moveIndex(redis: Redis, from: string, to: string): Promise<void> {
  const [entries, ttlMs] = await Promise.all([
    redis.zrange(from, 0, -1, 'WITHSCORES'),
    redis.pttl(from),
  ]).catch(asRedisError);
  if (entries.length > 0) {
    const pairs: (string | number)[] = [];
    for (let index = 0; index < entries.length; index += 2) {
      pairs.push(Number(entries[index + 1]), entries[index]!);
    }
    await redis.zadd(to, ...pairs).catch(asRedisError);
    // The merged index lives at least as long as the old one would have.
    const currentTtlMs = await redis.pttl(to).catch(asRedisError);
    if (ttlMs > 0 && currentTtlMs < ttlMs) await redis.pexpire(to, ttlMs).catch(asRedisError);
  }

  await redis.del(from).catch(asRedisError);
}
