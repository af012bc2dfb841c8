/**
 * The Lambda host for HTTP functions: the same Hono app as the server host, behind API Gateway
 * HTTP APIs (payload format 2.0) and Lambda Function URLs, through Hono's Lambda adapter.
 */
import type { Context } from 'hono';
import { getConnInfo, handle, streamHandle } from 'hono/aws-lambda';

import type { AnyHttpFunction } from '../../contract/define.js';
import { createHttpApp } from '../http/app.js';
import type { HttpHostOptions } from '../http/options.js';

/** Options of the Lambda HTTP host. */
export interface LambdaHttpOptions extends HttpHostOptions {
  /**
   * True for a Function URL with `InvokeMode: RESPONSE_STREAM`. Without it Lambda buffers the
   * whole response, so Server-Sent Events cannot work.
   */
  responseStreaming: boolean;
}

/**
 * Builds the Lambda handler. Throws, naming each function, when a function needs response
 * streaming that this invocation mode lacks, so a deployment fails before any request does.
 */
export function createLambdaHttpHandler(
  functions: readonly AnyHttpFunction[],
  options: LambdaHttpOptions,
) {
  const unsupported = options.responseStreaming ? [] : functions.filter((fn) => fn.kind === 'sse');
  if (unsupported.length > 0) {
    const names = unsupported.map((fn) => `${fn.name} (${fn.paths.join(', ')})`).join('; ');
    throw new Error(
      `Cannot mount ${names} on Lambda without response streaming: Server-Sent Events need a ` +
        'Function URL with InvokeMode RESPONSE_STREAM. Mount them there, or leave them out.',
    );
  }

  const app = createHttpApp(functions, { ...options, peerAddress: lambdaSourceIp });

  return options.responseStreaming ? streamHandle(app) : handle(app);
}

/** Returns the caller's address as API Gateway and Function URLs report it. */
function lambdaSourceIp(c: Context): string | undefined {
  return getConnInfo(c).remote.address;
}
