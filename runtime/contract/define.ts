/**
 * The shape of a function file: one definition with its identity, its input schema and a
 * handler. Hosts (Hono, BullMQ, and any FaaS adapter) map their native input onto this shape.
 * Nothing here imports a host, so importing a function file touches no network or environment.
 */
import type { Type } from 'arktype';

/** Structured logger passed to handlers; fields first, then the message. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(fields: object): Logger;
}

/** Span attribute values, as OpenTelemetry accepts them. */
export type Attributes = Record<string, string | number | boolean>;

/** Telemetry a handler may add to; hosts map it onto traces and metrics. */
export interface Telemetry {
  /** Adds attributes to the span of the current request or job. */
  setAttributes(attributes: Attributes): void;
  /** Adds `value` to the counter `name`, such as `bytes_exported`. */
  count(name: string, value: number): void;
}

/** The context every handler receives besides its input and dependencies. */
export interface BaseContext {
  logger: Logger;
  /** Aborts when the client goes away, the job is cancelled or the process shuts down. */
  signal: AbortSignal;
  requestId: string;
  telemetry: Telemetry;
}

/** The owner of every request while authentication is off. */
export const anonymousOwner = 'anonymous';

/** The context of HTTP handlers: the base context and the calling owner. */
export interface HttpContext extends BaseContext {
  /** The caller's owner id; `anonymous` while authentication is off. */
  owner: string;
}

/** A JSON response, or an empty one (such as a redirect) when `body` is undefined. */
export interface HttpResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One Server-Sent Events frame. */
export interface SseFrame {
  id?: string;
  event: string;
  data: unknown;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Any arktype schema; a handler receives what it outputs after morphs such as parsing. */
export type Schema = Type<any>;

type Output<S extends Schema> = S['infer'];

interface RouteIdentity<S extends Schema> {
  /** Stable name used in logs and traces. */
  name: string;
  method: HttpMethod;
  /** The path first, then aliases that stay for older clients; `:name` marks a parameter. */
  paths: readonly [string, ...string[]];
  /** Validates `{ params, query, headers, body }`; headers arrive with lower-case names. */
  input: S;
  /** The request budget the route draws on, because creating work costs more than reading. */
  rateLimit?: 'create' | 'read' | 'none';
  /** True for a POST that reads nothing from its body, so no JSON body is required. */
  acceptsEmptyBody?: boolean;
  /**
   * The callers allowed when authentication is on: anyone (`public`), API keys only (`key`, the
   * default), or API keys and read tokens (`read`).
   */
  access?: 'public' | 'key' | 'read';
}

/** An endpoint that responds with one JSON body. */
export interface HttpFunction<S extends Schema, Deps> extends RouteIdentity<S> {
  kind: 'http';
  handler(input: Output<S>, deps: Deps, context: HttpContext): Promise<HttpResult>;
}

/**
 * An endpoint that responds with a Server-Sent Events stream. The host pulls the first frame
 * before it sends headers, so a handler that throws before its first `yield` gets an ordinary
 * error response. The stream ends when the generator returns or the signal aborts.
 */
export interface SseFunction<S extends Schema, Deps> extends RouteIdentity<S> {
  kind: 'sse';
  handler(input: Output<S>, deps: Deps, context: HttpContext): AsyncGenerator<SseFrame, void>;
}

/** The context of one job run. */
export interface JobContext extends BaseContext {
  jobId: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
}

/** The outcome of a failed run, as decided by the host's retry mapping. */
export interface JobFailure {
  code: string;
  message: string;
  /** True when no further attempt follows. */
  final: boolean;
}

/** A job processor, mounted on a queue under a job name. */
export interface JobFunction<S extends Schema, Deps> {
  kind: 'job';
  name: string;
  queue: string;
  /**
   * The longest one run is expected to take, in seconds. Hosts with a hard time limit, such as
   * Lambda's 15 minutes, refuse a job that cannot fit.
   */
  expectedDurationSeconds: number;
  /** Validates the job data. */
  input: S;
  handler(input: Output<S>, deps: Deps, context: JobContext): Promise<void>;
  /** Called by the host after a failed run, before a retry is scheduled or the job ends. */
  onFailure?(input: Output<S>, deps: Deps, context: JobContext, failure: JobFailure): Promise<void>;
}

export type AnyHttpFunction = HttpFunction<any, any> | SseFunction<any, any>;
export type AnyJobFunction = JobFunction<any, any>;
export type AnyFunction = AnyHttpFunction | AnyJobFunction;

/** Checks an HTTP definition when its file is loaded and returns it with its types. */
export function defineHttp<S extends Schema, Deps>(
  definition: Omit<HttpFunction<S, Deps>, 'kind'>,
): HttpFunction<S, Deps> {
  checkPaths(definition.name, definition.paths);

  return Object.freeze({ ...definition, kind: 'http' });
}

/** Checks a Server-Sent Events definition when its file is loaded and returns it. */
export function defineSse<S extends Schema, Deps>(
  definition: Omit<SseFunction<S, Deps>, 'kind'>,
): SseFunction<S, Deps> {
  checkPaths(definition.name, definition.paths);

  return Object.freeze({ ...definition, kind: 'sse' });
}

/** Checks a job definition when its file is loaded and returns it with its types. */
export function defineJob<S extends Schema, Deps>(
  definition: Omit<JobFunction<S, Deps>, 'kind'>,
): JobFunction<S, Deps> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.queue) || !/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`Job ${definition.name}: queue and job names must be kebab-case`);
  }
  if (!(definition.expectedDurationSeconds > 0)) {
    throw new Error(`Job ${definition.name}: expectedDurationSeconds must be a positive number`);
  }

  return Object.freeze({ ...definition, kind: 'job' });
}

function checkPaths(name: string, paths: readonly string[]): void {
  for (const path of paths) {
    if (!path.startsWith('/') || path.includes('//')) {
      throw new Error(`Function ${name}: path "${path}" must start with one "/"`);
    }
  }
}
