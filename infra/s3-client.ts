/**
 * The one place that builds S3 clients, so that MinIO, AWS and the local emulator differ only
 * in settings.
 */
import { S3Client } from '@aws-sdk/client-s3';

import type { S3Settings } from '../runtime/config.js';

/** Builds a client for the internal endpoint that workers and the API use. */
export function createS3Client(settings: S3Settings): S3Client {
  return buildClient(settings, settings.endpoint);
}

/**
 * Builds a client that only signs URLs for the public endpoint. The host is part of a SigV4
 * signature, so a URL signed for an internal address would fail in the browser.
 */
export function createPublicSigningClient(settings: S3Settings): S3Client {
  return buildClient(settings, settings.publicEndpoint);
}

/**
 * Sends bucket-level requests as `/bucket` rather than `/bucket/` in path style. NOTE: the
 * local S3 emulator (@20minutes/s3rver 4.0.4) signs the path without the trailing slash and
 * rejects the SDK's form with SignatureDoesNotMatch; S3 and MinIO accept both forms.
 */
function stripBucketSlash(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string };
      if (request.path && /^\/[^/]+\/$/.test(request.path)) request.path = request.path.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: 'stripBucketSlash' },
  );
}

function buildClient(settings: S3Settings, endpoint: string | undefined): S3Client {
  const credentials =
    settings.accessKeyId && settings.secretAccessKey
      ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
      : undefined;

  const client = new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    // Streamed bodies with the SDK's default checksums are rejected (400) by the local S3
    // emulator and stored with chunk framing by others; S3 and MinIO accept either setting.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (settings.forcePathStyle) stripBucketSlash(client);

  return client;
}
