/** Reads the JSON error body that every rejected request carries. */

/** The `error` object of an error response. */
export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** Parses `response` as `{"error":{…}}` and throws, with the body, when it has another shape. */
export async function readError(response: Response): Promise<ErrorBody> {
  const text = await response.text();
  const error = parseError(text);
  if (!error) throw new Error(`The ${response.status} response has no error object: ${text}`);

  return error;
}

/** Returns the error object of `text`, or undefined when `text` is not such a body. */
export function parseError(text: string): ErrorBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }

  const error = (parsed as { error?: unknown } | null)?.error as Partial<ErrorBody> | undefined;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') return undefined;
  if (error.field !== undefined && typeof error.field !== 'string') return undefined;

  return error as ErrorBody;
}
