/** Presigned download URLs, signed for the public S3 address. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { trace } from '@opentelemetry/api';

import type { SignDownloadOptions, UrlSigner } from '../../functions/lib/ports.js';

export class S3UrlSigner implements UrlSigner {
  /** `publicClient` must be built for the endpoint browsers reach. */
  constructor(private readonly publicClient: S3Client) {}

  async signDownload(bucket: string, key: string, options: SignDownloadOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ResponseContentDisposition: contentDisposition(options.fileName),
      ResponseContentType: 'application/zip',
    });

    // Signing makes no request, so no instrumentation records it without this span.
    const tracer = trace.getTracer('export-service');
    return tracer.startActiveSpan('S3 presign GetObject', async (span) => {
      span.setAttributes({ 'aws.s3.bucket': bucket, 'aws.s3.key': key });
      try {
        return await getSignedUrl(this.publicClient, command, {
          expiresIn: options.expiresInSeconds,
        });
      } finally {
        span.end();
      }
    });
  }
}

/**
 * Returns an attachment header with a plain ASCII name. NOTE: the `filename*=UTF-8''…` form is left
 * out because the local S3 emulator computes a different signature for its quote characters.
 */
function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');

  return `attachment; filename="${ascii}"`;
}
