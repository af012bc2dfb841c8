/**
 * Types for the parts of `@20minutes/s3rver` 4.0.4 that the local stack uses, because the
 * package ships none.
 */
declare module '@20minutes/s3rver' {
  import type { AddressInfo } from 'node:net';
  import type { Server } from 'node:http';

  /** A bucket created when the emulator starts. */
  interface BucketConfiguration {
    name: string;
    /** CORS or website configuration documents (XML). */
    configs?: Array<string | Buffer>;
  }

  /** Constructor options. Unset ones take the package's defaults. */
  interface S3rverOptions {
    address?: string;
    /** Port to listen on, or 0 for a free one. */
    port?: number;
    silent?: boolean;
    /** Folder where buckets and objects are stored. */
    directory?: string;
    resetOnClose?: boolean;
    /** Accepts requests whose SigV4 signature does not match when true. */
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: BucketConfiguration[];
  }

  /** An S3 emulator on a Koa app. */
  class S3rver {
    constructor(options?: S3rverOptions);

    /** The listening server, set once `run` has resolved. */
    httpServer?: Server;

    /** Creates the configured buckets, then listens and returns the bound address. */
    run(): Promise<AddressInfo>;

    close(): Promise<void>;
  }

  export = S3rver;
}
