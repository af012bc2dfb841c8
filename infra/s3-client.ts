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

function buildClient(settings: S3Settings, endpoint: string | undefined): S3Client {
  const credentials =
    settings.accessKeyId && settings.secretAccessKey
      ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
      : undefined;

  return new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    // Streamed bodies with the SDK's default checksums are rejected (400) by the local S3
    // emulator and stored with chunk framing by others; S3 and MinIO accept either setting.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
