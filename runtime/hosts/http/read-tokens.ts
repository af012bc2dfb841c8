/**
 * Read tokens: HMAC-signed, expiring grants to read one export, or every export of an owner.
 * They let a browser follow an export with EventSource, which cannot send an Authorization
 * header, without holding the API key. Every API process verifies them with the shared secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { TokenIssuer } from '../../../functions/lib/ports.js';

/** The grant of a valid token. */
export interface ReadGrant {
  owner: string;
  /** Unset means every export of the owner. */
  exportId?: string;
  expiresAt: number;
}

const version = 'rt1';

export class ReadTokens implements TokenIssuer {
  constructor(
    private readonly secret: string,
    private readonly clock: { now(): number } = Date,
  ) {}

  issue(owner: string, exportId: string | undefined, expiresAt: number): string {
    const payload = Buffer.from(
      JSON.stringify({ o: owner, ...(exportId ? { e: exportId } : {}), x: Math.floor(expiresAt / 1000) }),
    ).toString('base64url');

    return `${version}.${payload}.${this.sign(payload)}`;
  }

  /** Returns the grant of a genuine, unexpired token, else null. */
  verify(token: string): ReadGrant | null {
    const [prefix, payload, mac] = token.split('.');
    if (prefix !== version || !payload || !mac) return null;

    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;

    const claims = parseClaims(payload);
    if (!claims || claims.x * 1000 <= this.clock.now()) return null;

    return { owner: claims.o, ...(claims.e ? { exportId: claims.e } : {}), expiresAt: claims.x * 1000 };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`${version}.${payload}`).digest('base64url');
  }
}

function parseClaims(payload: string): { o: string; e?: string; x: number } | null {
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    const { o, e, x } = claims as { o?: unknown; e?: unknown; x?: unknown };
    if (typeof o !== 'string' || typeof x !== 'number') return null;
    if (e !== undefined && typeof e !== 'string') return null;

    return { o, ...(typeof e === 'string' ? { e } : {}), x };
  } catch {
    return null;
  }
}
