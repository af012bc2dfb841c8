/**
 * Lambda events and contexts for tests, built from the literal fixtures in test/fixtures/lambda/.
 * HTTP events follow API Gateway's payload format 2.0, which Function URLs use as well.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type {
  APIGatewayProxyEventV2,
  Context as LambdaContext,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';

const fixtureDir = new URL('../fixtures/lambda/', import.meta.url);

/** Reads and parses a fixture file of test/fixtures/lambda/, afresh on every call. */
export function loadLambdaFixture<T>(fileName: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(fileName, fixtureDir)), 'utf8')) as T;
}

/** One HTTP request, independent of the host that receives it. */
export interface HostRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Decoded names and values. Drivers encode them into the query string. */
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Lambda drivers send the body base64-encoded with `isBase64Encoded`, as API Gateway and
   * Function URLs do for binary media types. The server host receives it as it is.
   */
  base64Body?: boolean;
}

/** Returns the query string of `query`, without the leading `?`. */
export function encodeQuery(query: Record<string, string> | undefined): string {
  return new URLSearchParams(query ?? {}).toString().replace(/\+/g, '%20');
}

/**
 * Builds a payload format 2.0 event from `template` (a fixture) for `request`. The headers are
 * the request's and `host`. The request context, such as the domain name and the source
 * address, stays as in the fixture.
 */
export function toHttpEvent(
  template: APIGatewayProxyEventV2,
  request: HostRequest,
  requestId: string,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { host: template.requestContext.domainName };
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    headers[name.toLowerCase()] = value;
  }
  const query = request.query ?? {};
  const body = request.body === undefined ? {} : encodeBody(request.body, request.base64Body);

  const { body: _templateBody, queryStringParameters: _templateQuery, ...rest } = template;
  return {
    ...rest,
    rawPath: request.path,
    rawQueryString: encodeQuery(request.query),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: { ...query } } : {}),
    requestContext: {
      ...template.requestContext,
      http: { ...template.requestContext.http, method: request.method, path: request.path },
      requestId,
    },
    isBase64Encoded: request.base64Body === true && request.body !== undefined,
    ...body,
  };
}

function encodeBody(body: string, base64: boolean | undefined): { body: string } {
  return { body: base64 ? Buffer.from(body, 'utf8').toString('base64') : body };
}

/** What one SQS record carries that a test chooses. */
export interface SqsRecordInput {
  messageId: string;
  body: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
}

/** Builds an SQS event with one record per input, shaped like the records of sqs-batch.json. */
export function toSqsEvent(records: readonly SqsRecordInput[]): SQSEvent {
  const template = loadLambdaFixture<SQSEvent>('sqs-batch.json').Records[0]!;

  return { Records: records.map((record) => toSqsRecord(template, record)) };
}

function toSqsRecord(template: SQSRecord, input: SqsRecordInput): SQSRecord {
  return {
    ...template,
    messageId: input.messageId,
    receiptHandle: `${template.receiptHandle.slice(0, 24)}${input.messageId}`,
    body: input.body,
    attributes: { ...template.attributes, ApproximateReceiveCount: String(input.receiveCount) },
  };
}

/** Builds a Lambda context whose remaining time starts at `remainingMs` and counts down. */
export function fakeLambdaContext(
  remainingMs: number,
  awsRequestId = 'conformance-request',
): LambdaContext {
  const deadline = Date.now() + remainingMs;

  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'export-service-worker',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:export-service-worker',
    memoryLimitInMB: '2048',
    awsRequestId,
    logGroupName: '/aws/lambda/export-service-worker',
    logStreamName: '2026/12/04/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
