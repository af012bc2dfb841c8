/**
 * POST /v1/export: records a queued export and enqueues its zip build. A request for the same
 * files as a running export of the same owner joins it unless `join` is false, and an
 * `Idempotency-Key` makes a retried request return the first response.
 */
import { type } from 'arktype';

import { defineHttp, type HttpResult } from '../runtime/contract/define.js';
import { HttpError, isError, WebhookRejectedError } from '../runtime/contract/errors.js';
import { findRunningTwin, fingerprintOf, runOnce } from './lib/claims.js';
import type { ClaimStore, TokenIssuer, WebhookSender } from './lib/ports.js';
import { exportPaths, fileIdList } from './lib/schemas.js';
import type { ExportRecord } from './lib/snapshot.js';
import { startExport, type StartExportDeps } from './lib/start-export.js';

export interface CreateExportDeps extends StartExportDeps {
  claims: ClaimStore;
  webhooks: Pick<WebhookSender, 'check'>;
  tokens: TokenIssuer;
  retention: { recordSeconds: number };
}

const input = type({
  body: {
    '+': 'reject',
    file_ids: fileIdList,
    'join?': 'boolean',
    // Receives the snapshot when the export ends; its host must be on the allow-list.
    'callback_url?': 'string.url',
  },
  headers: { 'idempotency-key?': /^[\x21-\x7e]{1,200}$/ },
});

export const createExport = defineHttp({
  name: 'create-export',
  method: 'POST',
  paths: ['/v1/export'],
  input,
  rateLimit: 'create',
  async handler({ body, headers }, deps: CreateExportDeps, context) {
    const fileIds = [...new Set(body.file_ids)];
    const join = body.join ?? true;
    const key = headers['idempotency-key'];
    const callbackUrl = body.callback_url;
    if (callbackUrl !== undefined) checkCallback(deps, callbackUrl);

    const { response, replayed } = await runOnce(
      deps.claims,
      context,
      key,
      fingerprintOf({ fileIds, join, callbackUrl }),
      async () => {
        const newId = deps.newId();
        const slot = {
          owner: context.owner,
          fingerprint: fingerprintOf([...fileIds].sort((a, b) => a - b)),
          newId,
          ttlSeconds: deps.retention.recordSeconds,
        };
        const twin = join ? await findRunningTwin(deps.claims, deps.records, slot) : null;
        const record = twin ?? (await startExport(fileIds, deps, context, newId, callbackUrl));
        // The token lets a browser follow this one export without the API key.
        const expiresAt = Date.parse(record.createdAt) + deps.retention.recordSeconds * 1000;
        const readToken = deps.tokens.issue(context.owner, record.jobId, expiresAt);

        return accepted(record, twin !== null, readToken);
      },
    );

    return replayed
      ? { ...response, headers: { ...response.headers, 'Idempotent-Replayed': 'true' } }
      : response;
  },
});

function accepted(
  record: ExportRecord,
  joined: boolean,
  readToken: string,
): HttpResult & { headers: object } {
  const paths = exportPaths(record.jobId);

  return {
    status: 202,
    headers: { Location: paths.status },
    body: {
      jobId: record.jobId,
      status: record.status,
      totalFileIds: record.fileIds.length,
      statusUrl: paths.status,
      progressUrl: paths.progress,
      readToken,
      ...(joined ? { joined: true } : {}),
    },
  };
}

function checkCallback(deps: CreateExportDeps, url: string): void {
  try {
    deps.webhooks.check(url);
  } catch (error) {
    if (!isError(error, WebhookRejectedError)) throw error;
    throw new HttpError(400, 'invalid_request', `callback_url is not allowed: ${error.message}`, 'callback_url');
  }
}
