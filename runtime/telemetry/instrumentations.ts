/**
 * The instrumentations of the libraries the service calls. They cover node:http (the API
 * server, the AWS SDK's requests and webhooks), ioredis (BullMQ and the job records), the AWS
 * SDK (S3 and SQS), pino (trace ids in log lines) and Node's global fetch. Loading only these,
 * rather than every auto-instrumentation, keeps each process's memory down.
 */
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

/** Paths polled by load balancers and Prometheus. */
const untracedPaths = new Set(['/health', '/metrics']);

/** Creates the instrumentations, which patch their libraries as soon as they are enabled. */
export function createInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      // Probes and scrapes every few seconds would each make a trace of their own.
      ignoreIncomingRequestHook: (request) => untracedPaths.has(request.url ?? ''),
      // Read tokens travel in the query string, since EventSource cannot send headers.
      redactedQueryParamsServer: ['token'],
      // Presigned URLs carry their signature in the query string.
      redactedQueryParams: ['X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token'],
    }),
    // NOTE: no code of the API or the worker calls fetch today. This keeps a future call, or a
    // library that switches to fetch, from going untraced.
    new UndiciInstrumentation(),
    new IORedisInstrumentation(),
    new AwsInstrumentation(),
    // Logs go to stdout as JSON lines, so pino only needs the trace ids added to each line,
    // not a copy of every record sent to the OpenTelemetry logs API.
    new PinoInstrumentation({ disableLogSending: true }),
  ];
}
