/** An in-memory ClaimStore; expiry is not modelled. */
import type { ClaimStore } from '../../functions/lib/ports.js';

export class MemoryClaimStore implements ClaimStore {
  readonly values = new Map<string, string>();

  async claim(key: string, value: string): Promise<string | null> {
    const holder = this.values.get(key);
    if (holder !== undefined) return holder;

    this.values.set(key, value);
    return null;
  }

  async set(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }

  async release(key: string): Promise<void> {
    this.values.delete(key);
  }
}
