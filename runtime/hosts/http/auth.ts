/**
 * Authentication and authorization for the HTTP host. An API key (`Authorization: Bearer …`)
 * names an owner; a read token grants reads of one export, or of every export of an owner.
 * With authentication off every caller is the anonymous owner.
 */
import { createHash } from 'node:crypto';

import type { Context, MiddlewareHandler } from 'hono';

import { anonymousOwner, type AnyHttpFunction } from '../../contract/define.js';
import { HttpError } from '../../contract/errors.js';
import type { ReadTokens } from './read-tokens.js';

/** Finds the owner of an API key by the key's SHA-256 hash. */
export interface ApiKeyStore {
  ownerOf(keyHash: string): Promise<string | null>;
}

/** The credential stores of the host; unset turns authentication off. */
export interface AuthOptions {
  apiKeys: ApiKeyStore;
  readTokens: ReadTokens;
}

/** The caller, and the kind of credential it sent. */
export type Principal =
  | { via: 'anonymous'; owner: string }
  | { via: 'api_key'; owner: string }
  | { via: 'read_token'; owner: string; exportId?: string };

/** Returns the SHA-256 hash under which an API key is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Sets `principal` from the request's credentials. Wrong credentials are rejected only by
 * `rejectWrongCredentials`, after the rate limit has counted the request by client address, so
 * guessing keys costs budget like any other request.
 */
export function identify(auth: AuthOptions | undefined): MiddlewareHandler {
  return async (c, next) => {
    try {
      c.set('principal', auth ? await principalOf(c, auth) : { via: 'anonymous', owner: anonymousOwner });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      c.set('principal', null);
      c.set('credentialError', error);
    }
    await next();
  };
}

/** Throws the 401 that `identify` held back for wrong credentials. */
export function rejectWrongCredentials(): MiddlewareHandler {
  return async (c, next) => {
    const error = c.get('credentialError') as HttpError | undefined;
    if (error) throw error;
    await next();
  };
}

/** Throws unless the principal may call `fn` on this request; returns the owner to act as. */
export function authorize(fn: AnyHttpFunction, principal: Principal | null, exportId?: string) {
  const access = fn.access ?? 'key';
  if (access === 'public') return principal?.owner ?? anonymousOwner;
  if (!principal) throw unauthorized();
  if (principal.via !== 'read_token') return principal.owner;

  if (access !== 'read') {
    throw new HttpError(403, 'forbidden', 'A read token only reads exports; send an API key');
  }
  if (principal.exportId !== undefined && principal.exportId !== exportId) {
    // Another export's id gets the same 404 as an unknown one, so ids cannot be probed.
    if (exportId !== undefined) throw new HttpError(404, 'not_found', `No export has the id ${exportId}`, 'id');
    throw new HttpError(403, 'forbidden', 'This read token is for one export only');
  }

  return principal.owner;
}

async function principalOf(c: Context, auth: AuthOptions): Promise<Principal | null> {
  const authorization = c.req.header('authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    const owner = match ? await auth.apiKeys.ownerOf(hashApiKey(match[1]!)) : null;
    if (!owner) throw unauthorized('The API key is invalid or revoked');
    return { via: 'api_key', owner };
  }

  const token = c.req.query('token') ?? c.req.header('x-read-token');
  if (token === undefined) return null;

  const grant = auth.readTokens.verify(token);
  if (!grant) throw unauthorized('The read token is invalid or expired');
  return { via: 'read_token', owner: grant.owner, ...(grant.exportId ? { exportId: grant.exportId } : {}) };
}

function unauthorized(message = 'Send an API key as "Authorization: Bearer <key>"'): HttpError {
  return new HttpError(401, 'unauthorized', message, 'Authorization', {
    'WWW-Authenticate': 'Bearer realm="export-service"',
  });
}
