import { webcrypto } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { newIdempotencyKey } from '../../web/lib/idempotency-key.js';

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newIdempotencyKey', () => {
  it('uses randomUUID when present', () => {
    const source = {
      randomUUID: () => 'from-random-uuid',
      getRandomValues: <T>(array: T) => array,
    };

    expect(newIdempotencyKey(source)).toBe('from-random-uuid');
  });

  it('builds a UUID without randomUUID', () => {
    // As in a page served over plain HTTP, where randomUUID is missing.
    const source = {
      getRandomValues: <T extends Uint8Array>(array: T) => webcrypto.getRandomValues(array),
    };

    expect(newIdempotencyKey(source)).toMatch(uuidV4);
  });

  it('sets the version bits', () => {
    const source = { getRandomValues: <T extends Uint8Array>(array: T) => array.fill(0xff) };

    expect(newIdempotencyKey(source)).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
  });

  it('differs between calls', () => {
    expect(newIdempotencyKey()).not.toBe(newIdempotencyKey());
  });
});
