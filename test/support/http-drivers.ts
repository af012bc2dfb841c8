/**
 * Drivers that mount the same HTTP functions on each HTTP host and send them one request
 * shape, so a conformance suite can check every host the same way. Each driver returns a
 * standard `Response`, whatever the host's native result is.
 */
import { randomUUID } from 'node:crypto';

import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context as LambdaContext,
} from 'aws-lambda';

import type { AnyHttpFunction } from '../../runtime/contract/define.js';
import { createHttpApp, type HttpHostOptions } from '../../runtime/hosts/http/app.js';
import { createLambdaHttpHandler } from '../../runtime/hosts/lambda/http-handler.js';
import {
  encodeQuery,
  fakeLambdaContext,
  type HostRequest,
  loadLambdaFixture,
  toHttpEvent,
} from './lambda-events.js';
import { CapturedResponseStream } from './lambda-stream-runtime.js';

export type { HostRequest } from './lambda-events.js';

/** Sends one request to a mounted host. */
export type SendRequest = (request: HostRequest) => Promise<Response>;

/** One HTTP host, ready to mount functions. */
export interface HttpHostDriver {
  name: string;
  /** False when the host rejects Server-Sent Events functions. */
  streams: boolean;
  mount(functions: readonly AnyHttpFunction[], options: HttpHostOptions): SendRequest;
}

/** API Gateway's own limit on one integration, which the template's ApiFunction uses. */
const apiGatewayTimeoutMs = 29_000;

/** The Hono app of the server host, called in-process. */
export const serverDriver: HttpHostDriver = {
  name: 'Hono server',
  streams: true,
  mount(functions, options) {
    const app = createHttpApp(functions, options);

    return async (request) => {
      const query = encodeQuery(request.query);
      const url = query === '' ? request.path : `${request.path}?${query}`;
      const init: RequestInit = { method: request.method, headers: request.headers ?? {} };
      if (request.body !== undefined) init.body = request.body;

      return app.request(url, init);
    };
  },
};

/** The buffered Lambda host behind an API Gateway HTTP API. */
export const apiGatewayDriver = bufferedLambdaDriver(
  'Lambda API Gateway v2',
  'http-api-v2-get.json',
);

/** The buffered Lambda host behind a Function URL with InvokeMode BUFFERED. */
export const functionUrlDriver = bufferedLambdaDriver(
  'Lambda Function URL',
  'function-url-get.json',
);

/**
 * The Lambda host behind a Function URL with InvokeMode RESPONSE_STREAM. It needs the
 * `awslambda` global, so call `installStreamingRuntime` first.
 */
export const streamingFunctionUrlDriver: HttpHostDriver = {
  name: 'Lambda Function URL streaming',
  streams: true,
  mount(functions, options) {
    const handler = createLambdaHttpHandler(functions, { ...options, responseStreaming: true });
    const template = loadLambdaFixture<APIGatewayProxyEventV2>('function-url-get.json');
    const invoke = handler as unknown as StreamingHandler;

    return async (request) => {
      const event = toHttpEvent(template, request, randomUUID());
      const stream = new CapturedResponseStream();
      await invoke(event, stream, fakeLambdaContext(apiGatewayTimeoutMs));
      const { statusCode = 500, headers = {}, cookies = [] } = stream.metadata;

      return toResponse(statusCode, headers, cookies, stream.body());
    };
  },
};

/** Every HTTP host, for `describe.each`. */
export const httpHostDrivers: readonly HttpHostDriver[] = [
  serverDriver,
  apiGatewayDriver,
  functionUrlDriver,
  streamingFunctionUrlDriver,
];

type BufferedHandler = (
  event: APIGatewayProxyEventV2,
  context: LambdaContext,
) => Promise<APIGatewayProxyStructuredResultV2>;

type StreamingHandler = (
  event: APIGatewayProxyEventV2,
  stream: CapturedResponseStream,
  context: LambdaContext,
) => Promise<void>;

function bufferedLambdaDriver(name: string, fixture: string): HttpHostDriver {
  return {
    name,
    streams: false,
    mount(functions, options) {
      const handler = createLambdaHttpHandler(functions, { ...options, responseStreaming: false });
      const template = loadLambdaFixture<APIGatewayProxyEventV2>(fixture);
      const invoke = handler as unknown as BufferedHandler;

      return async (request) => {
        const event = toHttpEvent(template, request, randomUUID());
        const result = await invoke(event, fakeLambdaContext(apiGatewayTimeoutMs));
        const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
        const { statusCode = 200, headers = {}, cookies = [] } = result;

        return toResponse(statusCode, headers, cookies, body);
      };
    },
  };
}

/** Statuses whose responses cannot carry a body, so `Response` rejects one. */
const nullBodyStatuses = new Set([101, 204, 205, 304]);

function toResponse(
  status: number,
  headers: Record<string, string | number | boolean>,
  cookies: readonly string[],
  body: Buffer,
): Response {
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(headers)) responseHeaders.set(name, String(value));
  for (const cookie of cookies) responseHeaders.append('set-cookie', cookie);

  const responseBody = nullBodyStatuses.has(status) ? null : body;

  return new Response(responseBody, { status, headers: responseHeaders });
}
