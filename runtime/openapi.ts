/**
 * The OpenAPI 3.1 document, generated from the same function definitions and arktype schemas
 * that the hosts mount, so the document cannot drift from the code.
 */
import type { AnyHttpFunction } from './contract/define.js';

type JsonSchema = { properties?: Record<string, JsonSchema>; required?: string[] } & Record<
  string,
  unknown
>;

/** Morphs (such as parsing a number out of a query string) are documented by their input. */
const schemaOptions = {
  fallback: {
    morph: (context: { base: unknown }) => context.base,
    default: (context: { base: unknown }) => context.base,
  },
};

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        field: { type: 'string' },
      },
    },
  },
};

/** Returns the request schema of `fn`: its `{ params, query, headers, body }` object. */
export function requestSchemaOf(fn: AnyHttpFunction): JsonSchema {
  const schema = fn.input as unknown as { toJsonSchema(options: object): JsonSchema };
  const { $schema: _dialect, ...rest } = schema.toJsonSchema(schemaOptions);

  return rest;
}

/** Builds the document for `functions`. */
export function buildOpenApi(functions: readonly AnyHttpFunction[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const fn of functions) {
    for (const [index, path] of fn.paths.entries()) {
      const openApiPath = path.replace(/:([A-Za-z_]+)/g, '{$1}');
      paths[openApiPath] ??= {};
      paths[openApiPath][fn.method.toLowerCase()] = operationOf(fn, index > 0);
    }
  }

  return {
    openapi: '3.1.0',
    info: { title: 'Export service', version },
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
    },
    paths,
  };
}

function operationOf(fn: AnyHttpFunction, alias: boolean) {
  const request = requestSchemaOf(fn);
  const parts = request.properties ?? {};
  const parameters = [
    ...parametersOf(parts.params, 'path'),
    ...parametersOf(parts.query, 'query'),
    ...parametersOf(parts.headers, 'header'),
  ];
  const body = parts.body;

  return {
    operationId: alias ? `${fn.name}-alias` : fn.name,
    ...(alias ? { deprecated: true, description: 'Kept for clients of the older download API.' } : {}),
    ...(fn.access === 'public' ? { security: [] } : { security: [{ apiKey: [] }] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : {}),
    responses: {
      [fn.kind === 'sse' ? '200' : 'default']: {
        description: fn.kind === 'sse' ? 'Server-Sent Events' : 'The response',
        content: fn.kind === 'sse' ? { 'text/event-stream': {} } : { 'application/json': {} },
      },
      '4XX': {
        description: 'A request error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
  };
}

function parametersOf(part: JsonSchema | undefined, location: 'path' | 'query' | 'header') {
  const required = new Set(part?.required ?? []);

  return Object.entries(part?.properties ?? {}).map(([name, schema]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    schema,
  }));
}
