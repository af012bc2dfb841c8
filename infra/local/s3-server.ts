/**
 * Starts an S3 emulator (`@20minutes/s3rver` 4.0.4) in this process for the local stack and
 * the integration tests. It checks SigV4 signatures like S3, but returns 403 to bucket-level
 * calls (CreateBucket, HeadBucket, ListObjectsV2), so every bucket is created at start.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import S3rver from '@20minutes/s3rver';

const host = '127.0.0.1';

/** The emulator's fixed credentials, which are public and open nothing else. */
const emulatorAccessKeyId = 'S3RVER';
const emulatorSecretAccessKey = 'S3RVER';

/** A running S3 emulator and the settings a client needs to reach it. */
export interface LocalS3 {
  /** `http://127.0.0.1:<port>`, which clients must reach with path-style addressing. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Closes the listening socket and any open connections. The stored files remain. */
  stop(): Promise<void>;
}

/** Options of `startS3Server`. */
export interface S3ServerOptions {
  /** Folder for buckets and objects, created when missing and kept across restarts. */
  dir: string;
  /** Port to listen on. 0 or unset picks a free one. */
  port?: number;
  /** Buckets to create, because the emulator rejects CreateBucket over HTTP. */
  buckets: string[];
}

/** Starts the emulator on 127.0.0.1 with the given buckets and resolves once it listens. */
export async function startS3Server(options: S3ServerOptions): Promise<LocalS3> {
  checkBucketNames(options.buckets);

  const directory = path.resolve(options.dir);
  await mkdir(directory, { recursive: true });

  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const address = await server.run();

  return {
    endpoint: `http://${host}:${address.port}`,
    accessKeyId: emulatorAccessKeyId,
    secretAccessKey: emulatorSecretAccessKey,
    stop: () => stopServer(server),
  };
}

async function stopServer(server: S3rver): Promise<void> {
  const closed = server.close();

  // SDK clients keep sockets alive, and close() alone would wait for them to time out.
  server.httpServer?.closeAllConnections();

  await closed;
}

/** Rejects names S3 would reject, since the emulator stores each bucket as a folder. */
function checkBucketNames(buckets: string[]): void {
  const valid = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
  const invalid = buckets.filter((name) => !valid.test(name));

  if (buckets.length === 0) throw new Error('startS3Server needs at least one bucket');
  if (invalid.length > 0) {
    throw new Error(`Invalid S3 bucket names: ${invalid.join(', ')} (use 3 to 63 of a-z 0-9 . -)`);
  }
}
