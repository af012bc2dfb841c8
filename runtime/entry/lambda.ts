/**
 * The Lambda entry points, for the deployment in infra/aws/template.yaml:
 * - `api`: every HTTP function but the SSE ones, behind API Gateway HTTP API or a buffered
 *   Function URL;
 * - `apiStream`: every HTTP function, SSE included, behind a Function URL with response
 *   streaming;
 * - `worker`: every job function, as an SQS consumer.
 * The queue port is SQS here; job records stay in Redis. Everything is built once per cold
 * start, and a bad setting fails the cold start with its name.
 */
import { SQSClient } from '@aws-sdk/client-sqs';

import { httpFunctions, jobFunctions } from '../../functions/index.js';
import { createLogger } from '../../infra/logger.js';
import { SqsJobQueue } from '../../infra/sqs-queue.js';
import { loadConfig } from '../config.js';
import { createServices } from '../dependencies.js';
import { parseTrustedProxies } from '../hosts/http/client-address.js';
import { createLambdaHttpHandler } from '../hosts/lambda/http-handler.js';
import { createSqsHandler } from '../hosts/lambda/sqs-handler.js';

const config = loadConfig(process.env);
if (!config.redisUrl || !config.lambda.queueUrl) {
  throw new Error('REDIS_URL and SQS_QUEUE_URL must be set for the Lambda deployment');
}

const logger = createLogger({ level: config.logLevel, service: 'lambda' });
const queue = new SqsJobQueue(new SQSClient({ region: config.s3.region }), config.lambda.queueUrl);
const services = createServices(config, config.redisUrl, logger, { queue });
const httpOptions = {
  deps: services.deps,
  logger,
  maxBodyBytes: config.api.maxBodyBytes,
  sseHeartbeatMs: config.api.sseHeartbeatMs,
  rateLimiter: services.rateLimiter,
  trustedProxies: parseTrustedProxies(config.api.trustedProxies),
  ...(config.auth.enabled
    ? { auth: { apiKeys: services.apiKeys, readTokens: services.readTokens } }
    : {}),
};

export const api = createLambdaHttpHandler(
  httpFunctions.filter((fn) => fn.kind !== 'sse'),
  { ...httpOptions, responseStreaming: false },
);

export const apiStream = createLambdaHttpHandler(httpFunctions, {
  ...httpOptions,
  responseStreaming: true,
});

export const worker = createSqsHandler(jobFunctions, {
  deps: services.deps,
  logger,
  timeoutSeconds: config.lambda.timeoutSeconds,
  visibilityTimeoutSeconds: config.lambda.visibilityTimeoutSeconds,
  maxAttempts: config.lambda.maxReceiveCount,
  requeue: (message, delaySeconds) => queue.send(message, delaySeconds),
});
