/** A URL signer that builds a predictable loopback URL and records each call. */
import type { SignDownloadOptions, UrlSigner } from '../../functions/lib/ports.js';

/** One `signDownload` call. */
export interface SignedDownload {
  bucket: string;
  key: string;
  options: SignDownloadOptions;
}

export class MemoryUrlSigner implements UrlSigner {
  readonly signed: SignedDownload[] = [];

  async signDownload(bucket: string, key: string, options: SignDownloadOptions): Promise<string> {
    this.signed.push({ bucket, key, options: { ...options } });
    const query = new URLSearchParams({
      'X-Amz-Expires': String(options.expiresInSeconds),
      'response-content-disposition': `attachment; filename="${options.fileName}"`,
    });

    return `http://127.0.0.1:9000/${bucket}/${key}?${query}`;
  }
}
