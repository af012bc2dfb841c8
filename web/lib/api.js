/**
 * Calls to the export API. Paths are resolved against `baseUrl`, the folder above the page,
 * so the page works behind any path prefix that also fronts the API.
 */

const networkErrorMessage =
  'The export service could not be reached. Check the connection and try again.';

/** An error response of the API, or a request that got no response (`status` 0). */
export class ApiError extends Error {
  name = 'ApiError';

  constructor(status, code, message, retryAfterMs) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Returns the API client for the service at `baseUrl`, such as `https://host/`. */
export function createApi(baseUrl) {
  const url = (path, query = {}) => {
    const target = new URL(path, baseUrl);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) target.searchParams.set(name, String(value));
    }
    return target.href;
  };

  return {
    listFiles: (cursor, limit) => request(url('v1/files', { cursor, limit })),
    listExports: (cursor, limit) => request(url('v1/exports', { cursor, limit })),
    getExport: (jobId) => request(url(`v1/export/${encodeURIComponent(jobId)}`)),
    createExport: (fileIds) => request(url('v1/export'), postJson({ file_ids: fileIds })),
    retryExport: (jobId) =>
      request(url(`v1/export/${encodeURIComponent(jobId)}/retry`), { method: 'POST' }),
    progressUrl: (jobIds) => url('v1/exports/progress', { ids: jobIds.join(',') }),
  };
}

/** Fetches `jobId`'s snapshot in the shape that ExportFollower's `fetchSnapshot` returns. */
export async function fetchSnapshotResult(api, jobId) {
  try {
    return { status: 'ok', snapshot: await api.getExport(jobId) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { status: 'not_found' };
    return { status: 'error', retryAfterMs: error.retryAfterMs };
  }
}

function postJson(body) {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  };
}

async function request(url, init = {}) {
  let response;
  try {
    const headers = { Accept: 'application/json', ...init.headers };
    response = await fetch(url, { ...init, headers });
  } catch {
    throw new ApiError(0, 'network_error', networkErrorMessage);
  }

  const body = await response.json().catch(() => undefined);
  if (response.ok && body !== undefined) return body;

  const error = body?.error;
  const message = error?.message ?? `The export service returned HTTP ${response.status}.`;
  throw new ApiError(response.status, error?.code ?? 'http_error', message, retryAfter(response));
}

/** Returns the Retry-After header in ms; only its seconds form, which the API sends. */
function retryAfter(response) {
  const seconds = Number(response.headers.get('Retry-After'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}
