/** The export API calls the CLI makes, with the response bodies checked before use. */
import { type } from 'arktype';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';

const acceptedSchema = type({
  jobId: 'string > 0',
  status: 'string',
  totalFileIds: 'number',
  statusUrl: 'string > 0',
  progressUrl: 'string > 0',
});

const snapshotSchema = type({
  jobId: 'string > 0',
  status: "'queued' | 'processing' | 'completed' | 'failed'",
  attempt: 'number',
  maxAttempts: 'number',
  progress: {
    percent: 'number',
    filesDone: 'number',
    filesTotal: 'number',
    bytesDone: 'number',
    bytesTotal: 'number',
  },
  missingFileIds: 'number[]',
  createdAt: 'string',
  updatedAt: 'string',
  version: 'number',
  'downloadUrl?': 'string',
  'expiresAt?': 'string',
  'zip?': { fileName: 'string', size: 'number', sha256: 'string' },
  'error?': { code: 'string', message: 'string' },
});

/** The 202 body of `POST /v1/export`, with the URLs resolved against the API URL. */
export type AcceptedExport = typeof acceptedSchema.infer;

/** The `ApiError.status` of a response whose HTTP exchange worked but whose body is unusable. */
export const unusableBodyStatus = 0;

/** An error response of the API, or a response the CLI cannot use. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** The HTTP status, or `unusableBodyStatus`. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  /** True for statuses where the same request may succeed later (429 and 5xx). */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

/** Starts an export of `fileIds` and returns the accepted job. */
export async function startExport(
  apiUrl: string,
  fileIds: readonly number[],
  signal?: AbortSignal,
): Promise<AcceptedExport> {
  const url = new URL('/v1/export', apiUrl);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ file_ids: fileIds }),
    signal,
  }).catch((error: unknown) => {
    if (signal?.aborted) throw error;
    throw new Error(`Could not reach the export API at ${url.origin}; start it or pass --api`, {
      cause: error,
    });
  });
  if (response.status !== 202) throw await toApiError(response);

  const accepted = acceptedSchema(await response.json());
  if (accepted instanceof type.errors) throw invalidBody('POST /v1/export', accepted.summary);

  return {
    ...accepted,
    statusUrl: new URL(accepted.statusUrl, apiUrl).href,
    progressUrl: new URL(accepted.progressUrl, apiUrl).href,
  };
}

/** Reads the current snapshot from `statusUrl`. */
export async function fetchSnapshot(
  statusUrl: string,
  signal?: AbortSignal,
): Promise<ExportSnapshot> {
  const response = await fetch(statusUrl, { headers: { accept: 'application/json' }, signal });
  if (!response.ok) throw await toApiError(response);

  return parseSnapshot(await response.json());
}

/** Checks that `body` (parsed JSON) has the shape of a snapshot, and throws ApiError if not. */
export function parseSnapshot(body: unknown): ExportSnapshot {
  const snapshot = snapshotSchema(body);
  if (snapshot instanceof type.errors) throw invalidBody('snapshot', snapshot.summary);

  return snapshot;
}

/** Builds an ApiError from an error response, reading `{"error":{code,message,field}}`. */
export async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  const body = parseJson(text) as ErrorBody | undefined;
  const error = body?.error;

  if (typeof error?.code === 'string' && typeof error.message === 'string') {
    const field = typeof error.field === 'string' ? error.field : undefined;
    return new ApiError(response.status, error.code, error.message, field);
  }

  const excerpt = text.slice(0, 200).trim() || response.statusText;
  const message = `HTTP ${response.status}: ${excerpt}`;
  return new ApiError(response.status, `http_${response.status}`, message);
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; field?: unknown };
}

function invalidBody(responseName: string, summary: string): ApiError {
  const message = `Invalid ${responseName} body from the API: ${summary}`;

  return new ApiError(unusableBodyStatus, 'invalid_response', message);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
