/**
 * The OpenAPI document that GET /openapi.json serves, built in-process: its shape as OpenAPI
 * 3.1 requires it, and its request schemas against each function's own arktype schema.
 */
import { isDeepStrictEqual } from 'node:util';

import { type } from 'arktype';
import { beforeAll, describe, expect, it } from 'vitest';

import { createExport } from '../../functions/create-export.js';
import { getExport } from '../../functions/get-export.js';
import { httpFunctions } from '../../functions/index.js';
import { listFiles } from '../../functions/list-files.js';
import { fileIdList } from '../../functions/lib/schemas.js';
import type { AnyHttpFunction } from '../../runtime/contract/define.js';
import { buildOpenApi, requestSchemaOf } from '../../runtime/openapi.js';
import { hasOpenApiValidator, validateOpenApi } from '../support/openapi-validator.js';

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: unknown;
}

interface Operation {
  operationId?: string;
  deprecated?: boolean;
  security?: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: unknown }>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title?: unknown; version?: unknown };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes?: Record<string, unknown> };
}

/** Where each part of a function's input goes in an operation. */
const parameterParts = [
  ['params', 'path'],
  ['query', 'query'],
  ['headers', 'header'],
] as const;

const version = '0.0.0-test';

/** Builds the document and parses it back from JSON, as a client reads it. */
function documentOf(functions: readonly AnyHttpFunction[]): OpenApiDocument {
  return JSON.parse(JSON.stringify(buildOpenApi(functions, version))) as OpenApiDocument;
}

/** Turns `/v1/export/:id` into `/v1/export/{id}`. */
function templateOf(path: string): string {
  return path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? `{${segment.slice(1)}}` : segment))
    .join('/');
}

/** Every method and path of `functions`, with whether the path is an alias. */
function routesOf(functions: readonly AnyHttpFunction[]) {
  return functions.flatMap((fn) =>
    fn.paths.map((path, index) => ({
      fn,
      method: fn.method.toLowerCase(),
      path: templateOf(path),
      alias: index > 0,
    })),
  );
}

function operationsOf(document: OpenApiDocument) {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
}

/**
 * Lists where `document` disagrees with the request schemas of `functions`: a missing
 * operation, or a request body, parameter set or required list that differs from the matching
 * part of `requestSchemaOf(fn)`.
 */
function disagreements(document: OpenApiDocument, functions: readonly AnyHttpFunction[]): string[] {
  const found: string[] = [];

  for (const { fn, method, path } of routesOf(functions)) {
    const label = `${method.toUpperCase()} ${path}`;
    const operation = document.paths[path]?.[method];
    if (!operation) {
      found.push(`${label}: missing`);
      continue;
    }

    const parts = (requestSchemaOf(fn).properties ?? {}) as Record<string, PartSchema | undefined>;
    const body = operation.requestBody?.content?.['application/json']?.schema;
    if (!isDeepStrictEqual(body, parts.body)) found.push(`${label}: request body differs`);

    for (const [part, location] of parameterParts) {
      found.push(...parameterDisagreements(label, operation, parts[part], location));
    }
  }

  return found;
}

type PartSchema = { properties?: Record<string, unknown>; required?: string[] };

function parameterDisagreements(
  label: string,
  operation: Operation,
  part: PartSchema | undefined,
  location: string,
): string[] {
  const parameters = (operation.parameters ?? []).filter((parameter) => parameter.in === location);
  const documented = Object.fromEntries(parameters.map((p) => [p.name, p.schema]));
  const documentedRequired = parameters.filter((p) => p.required === true).map((p) => p.name);
  // OpenAPI requires every path parameter to be required. Query and header parameters follow
  // the schema's `required` list.
  const expectedRequired =
    location === 'path' ? Object.keys(part?.properties ?? {}) : (part?.required ?? []);
  const found: string[] = [];

  if (!isDeepStrictEqual(documented, part?.properties ?? {})) {
    found.push(`${label}: ${location} parameters differ`);
  }
  if (!isDeepStrictEqual([...documentedRequired].sort(), [...expectedRequired].sort())) {
    found.push(`${label}: required ${location} parameters differ`);
  }

  return found;
}

/** Replaces `original` in the function list by `changed`. */
function swap(original: AnyHttpFunction, changed: AnyHttpFunction): AnyHttpFunction[] {
  return httpFunctions.map((fn) => (fn === original ? changed : fn));
}

/** Resolves a local `$ref` such as `#/components/schemas/Error`, or returns undefined. */
function resolveRef(document: object, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;

  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }

  return node;
}

function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];

  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string' ? [child] : refsIn(child),
  );
}

const document = documentOf(httpFunctions);
const routes = routesOf(httpFunctions);
const operations = operationsOf(document);

describe('OpenAPI document shape', () => {
  it('states OpenAPI 3.1.0', () => {
    expect(document.openapi).toBe('3.1.0');
  });

  it('has a title and version', () => {
    expect(document.info.title).toBeTypeOf('string');
    expect(document.info.version).toBe(version);
  });

  it.each(routes.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route]))(
    'has %s',
    (_label, route) => {
      expect(document.paths[route.path]?.[route.method]).toBeDefined();
    },
  );

  it('has no other operations', () => {
    const documented = operations.map(({ method, path }) => `${method} ${path}`).sort();
    const defined = routes.map(({ method, path }) => `${method} ${path}`).sort();
    expect(documented).toEqual(defined);
  });

  it('requires every path parameter', () => {
    for (const { path, operation } of operations) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      const pathParameters = (operation.parameters ?? []).filter((p) => p.in === 'path');
      expect(pathParameters.map((p) => p.name), path).toEqual(names);
      for (const parameter of pathParameters) expect(parameter.required, path).toBe(true);
    }
  });

  it('has {id} on export paths', () => {
    const withId = operations.filter(({ path }) => path.includes('{id}'));
    expect(withId.length).toBeGreaterThan(0);
  });

  it('marks alias paths deprecated', () => {
    for (const route of routes.filter(({ alias }) => alias)) {
      const operation = document.paths[route.path]?.[route.method];
      expect(operation?.deprecated, route.path).toBe(true);
    }
  });

  it('keeps first paths current', () => {
    for (const route of routes.filter(({ alias }) => !alias)) {
      const operation = document.paths[route.path]?.[route.method];
      expect(operation?.deprecated, route.path).toBeUndefined();
    }
  });

  it('has unique operation ids', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes every response', () => {
    for (const { method, path, operation } of operations) {
      const responses = Object.values(operation.responses ?? {});
      expect(responses.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const response of responses) {
        expect(response.description, `${method} ${path}`).toBeTypeOf('string');
      }
    }
  });

  it('resolves every $ref', () => {
    for (const ref of refsIn(document)) expect(resolveRef(document, ref), ref).toBeDefined();
  });

  it('names declared security schemes', () => {
    const schemes = Object.keys(document.components.securitySchemes ?? {});
    for (const { operation } of operations) {
      for (const requirement of operation.security ?? []) {
        for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
      }
    }
  });

  it('leaves public functions open', () => {
    for (const route of routes) {
      const security = document.paths[route.path]?.[route.method]?.security;
      const expected = route.fn.access === 'public' ? [] : [{ apiKey: [] }];
      expect(security, route.path).toEqual(expected);
    }
  });
});

describe.skipIf(!hasOpenApiValidator())('openapi-spec-validator', () => {
  let results: Array<string | null>;

  beforeAll(async () => {
    const broken = structuredClone(document) as unknown as { paths: Record<string, any> };
    delete broken.paths['/']!.get.responses.default.description;
    results = await validateOpenApi([document, broken]);
  }, 60_000);

  it('accepts the document', () => {
    expect(results[0]).toBeNull();
  });

  it('rejects a response without description', () => {
    expect(results[1]).toContain("'description' is a required property");
  });
});

describe('document against request schemas', () => {
  it.each(httpFunctions.map((fn) => [fn.name, fn]))('matches %s', (_name, fn) => {
    expect(disagreements(document, [fn])).toEqual([]);
  });

  it('detects a changed body', () => {
    const withoutJoin = type({
      body: { '+': 'reject', file_ids: fileIdList, 'callback_url?': 'string.url' },
      headers: { 'idempotency-key?': /^[\x21-\x7e]{1,200}$/ },
    });
    const changed = documentOf(swap(createExport, { ...createExport, input: withoutJoin }));

    expect(disagreements(changed, httpFunctions)).toEqual([
      'POST /v1/export: request body differs',
    ]);
  });

  it('detects a changed query parameter', () => {
    const requiredLimit = type({ query: { limit: 'string', 'cursor?': 'string' } });
    const changed = documentOf(swap(listFiles, { ...listFiles, input: requiredLimit }));

    expect(disagreements(changed, httpFunctions)).toEqual([
      'GET /v1/files: query parameters differ',
      'GET /v1/files: required query parameters differ',
    ]);
  });

  it('detects a changed path parameter', () => {
    const anyId = type({ params: { id: 'string' } });
    const changed = documentOf(swap(getExport, { ...getExport, input: anyId }));

    expect(disagreements(changed, httpFunctions)).toEqual([
      'GET /v1/export/{id}: path parameters differ',
      'GET /v1/download/status/{id}: path parameters differ',
    ]);
  });
});
