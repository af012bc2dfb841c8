/** A stand-in for the ioredis subscriber connection that RedisJobEvents listens on. */
import { EventEmitter } from 'node:events';

import type { Redis } from 'ioredis';

import type { ExportRecord } from '../../functions/lib/snapshot.js';

/** Delivers each published record as one `message` event, as one Redis channel would. */
export class MemoryRedisSubscriber extends EventEmitter {
  async subscribe(): Promise<number> {
    return 1;
  }

  publish(record: ExportRecord): void {
    this.emit('message', 'events', JSON.stringify(record));
  }

  /** Returns this object typed as the connection that RedisJobEvents expects. */
  asRedis(): Redis {
    return this as unknown as Redis;
  }
}
