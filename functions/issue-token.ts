/**
 * POST /v1/tokens: a read token for every export of the caller, for a page that follows many
 * exports with EventSource, which cannot send the API key in a header.
 */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';
import type { Clock, TokenIssuer } from './lib/ports.js';

export interface IssueTokenDeps {
  tokens: TokenIssuer;
  clock: Clock;
  readTokenTtlSeconds: number;
}

export const issueToken = defineHttp({
  name: 'issue-token',
  method: 'POST',
  paths: ['/v1/tokens'],
  input: type({}),
  acceptsEmptyBody: true,
  async handler(_input, deps: IssueTokenDeps, context) {
    const expiresAt = deps.clock.now() + deps.readTokenTtlSeconds * 1000;
    const token = deps.tokens.issue(context.owner, undefined, expiresAt);

    return { status: 201, body: { token, expiresAt: new Date(expiresAt).toISOString() } };
  },
});
