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

/**
 * Returns the API client for the service at `baseUrl`, such as `https://host/`. With `auth`
 * (an AuthSession), requests carry its API key, URLs for EventSource and links carry its read
 * token, and a 401 waits for the user to enter a key and then sends the request again.
 */
export function createApi(baseUrl, auth) {
  const url = (path, query = {}) => resolveUrl(baseUrl, path, query);
  const exportPath = (jobId) => `v1/export/${encodeURIComponent(jobId)}`;
  const call = (target, init) => request(target, init, auth);

  return {
    listFiles: (cursor, limit) => call(url('v1/files', { cursor, limit })),
    listExports: (cursor, limit) => call(url('v1/exports', { cursor, limit })),
    getExport: (jobId) => call(url(exportPath(jobId))),
    /** `idempotencyKey` makes the API return the first response when the request is sent again. */
    createExport: (fileIds, idempotencyKey) => {
      const headers = idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {};
      return call(url('v1/export'), postJson({ file_ids: fileIds }, headers));
    },
    retryExport: (jobId) => call(url(`${exportPath(jobId)}/retry`), { method: 'POST' }),
    cancelExport: (jobId) => call(url(exportPath(jobId)), { method: 'DELETE' }),
    progressUrl: (jobIds) =>
      url('v1/exports/progress', { ids: jobIds.join(','), token: auth?.readToken() }),
    /** The link that redirects to a freshly signed URL of the export's zip. */
    downloadUrl: (jobId) => url(`${exportPath(jobId)}/download`, { token: auth?.readToken() }),
  };
}

/**
 * Gets a read token with `apiKey` from POST /v1/tokens. Its lifetime is measured against the
 * response's Date header, so that a browser clock that is off does not shorten or stretch it.
 * Rejects with an ApiError, whose status is 401 when the key is not accepted.
 */
export async function issueReadToken(baseUrl, apiKey) {
  const tokensUrl = resolveUrl(baseUrl, 'v1/tokens');
  const { response, body } = await send(tokensUrl, { method: 'POST' }, apiKey);
  const issued = bodyOrError(response, body);
  const expiresAt = Date.parse(issued.expiresAt);
  if (typeof issued.token !== 'string' || Number.isNaN(expiresAt)) {
    throw new ApiError(response.status, 'invalid_response', 'The service returned no read token.');
  }

  const serverNow = Date.parse(response.headers.get('Date') ?? '');
  const lifetimeMs = expiresAt - (Number.isNaN(serverNow) ? Date.now() : serverNow);
  return { token: issued.token, lifetimeMs };
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

function resolveUrl(baseUrl, path, query = {}) {
  const target = new URL(path, baseUrl);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) target.searchParams.set(name, String(value));
  }

  return target.href;
}

function postJson(body, headers = {}) {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

async function request(url, init = {}, auth) {
  for (;;) {
    const apiKey = auth?.apiKey;
    const { response, body } = await send(url, init, apiKey);
    // The session resolves only once a new key was accepted, so this loop waits for the user.
    if (response.status === 401 && auth) {
      await auth.replaceRejectedKey(apiKey);
      continue;
    }

    return bodyOrError(response, body);
  }
}

async function send(url, init, apiKey) {
  const headers = { Accept: 'application/json', ...init.headers };
  if (apiKey !== undefined) headers.Authorization = `Bearer ${apiKey}`;

  let response;
  try {
    response = await fetch(url, { ...init, headers });
  } catch {
    throw new ApiError(0, 'network_error', networkErrorMessage);
  }
  const body = await response.json().catch(() => undefined);

  return { response, body };
}

/** Returns the parsed body of a successful response, or throws the response's ApiError. */
function bodyOrError(response, body) {
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
