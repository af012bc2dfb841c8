/**
 * API keys in Redis: a hash from each key's SHA-256 to its owner. The keys themselves are never
 * stored, so a copy of Redis does not hand out access.
 */
import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';

import { type ApiKeyStore, hashApiKey } from '../../runtime/hosts/http/auth.js';
import { asRedisError } from './unavailable.js';

/** Owner ids: what a key may belong to. */
const ownerPattern = /^[A-Za-z0-9._-]{1,64}$/;

export class RedisApiKeys implements ApiKeyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async ownerOf(keyHash: string): Promise<string | null> {
    return this.redis.hget(this.key(), keyHash).catch(asRedisError);
  }

  /** Makes a random 256-bit key for `owner`, stores its hash, and returns the key once. */
  async create(owner: string): Promise<string> {
    if (!ownerPattern.test(owner)) {
      throw new Error(`Invalid owner "${owner}": use 1 to 64 letters, digits, ".", "_" or "-"`);
    }

    const key = `exk_${randomBytes(32).toString('base64url')}`;
    await this.redis.hset(this.key(), hashApiKey(key), owner).catch(asRedisError);

    return key;
  }

  /** Removes a key; returns false when it was not stored. */
  async revoke(key: string): Promise<boolean> {
    const removed = await this.redis.hdel(this.key(), hashApiKey(key)).catch(asRedisError);

    return removed === 1;
  }

  private key(): string {
    return `${this.prefix}:api-keys`;
  }
}
