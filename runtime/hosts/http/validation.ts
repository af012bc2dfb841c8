/** Turns a raw request into a function's validated input, or an HttpError naming the field. */
import { type ArkError, type } from 'arktype';

import type { Schema } from '../../contract/define.js';
import { HttpError } from '../../contract/errors.js';

/** The request parts a schema may read; headers have lower-case names. */
export interface RawInput {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

/** Validates `raw` against `schema` and returns its output, or throws a 400. */
export function validateInput(schema: Schema, raw: RawInput): unknown {
  const result = schema(raw);
  if (!(result instanceof type.errors)) return result;

  const problems = [...result].map(describe);
  const first = problems[0]!;

  throw new HttpError(400, 'invalid_request', problems.map((p) => p.message).join('; '), first.field);
}

/** Parses a JSON body, rejecting non-JSON content types (415) and malformed JSON (400). */
export function parseJsonBody(contentType: string | undefined, text: string): unknown {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `The body must be JSON: send it with "Content-Type: application/json" (was ${mediaType ?? 'missing'})`,
      'Content-Type',
    );
  }
  if (text.trim() === '') {
    throw new HttpError(400, 'invalid_request', 'The request body is empty: send a JSON object');
  }

  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unknown reason';
    throw new HttpError(400, 'invalid_json', `The request body is not valid JSON: ${reason}`);
  }
}

/** Describes one problem as a field name and a sentence, without the request part ("body"). */
function describe(error: ArkError): { field: string | undefined; message: string } {
  const segments = error.path.slice(1);
  const field = segments.length > 0 ? formatPath(segments) : undefined;
  const problem = flatten(error.problem);

  if (error.code === 'predicate' && problem === 'must be removed') {
    // Quoted, because a field name may be empty or start with a space.
    return { field, message: `The field ${JSON.stringify(field ?? '')} is not known, so remove it` };
  }

  return { field, message: field ? `${field} ${problem}` : `The ${partName(error)} ${problem}` };
}

function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      return index === 0 ? String(segment) : `.${String(segment)}`;
    })
    .join('');
}

/** arktype lists the parts of an intersection on separate bulleted lines; one line reads better. */
function flatten(problem: string): string {
  return problem.replace(/\.\.\.\s*\n\s*◦\s*/, ' ').replace(/\s*\n\s*◦\s*/g, ' and ');
}

function partName(error: ArkError): string {
  const part = String(error.path[0] ?? 'request');

  return part === 'body' ? 'request body' : part;
}
