/** Keys for the Idempotency-Key header of POST /v1/export. */

/**
 * Returns a random version 4 UUID. `crypto.randomUUID` exists only in secure contexts (HTTPS
 * and loopback addresses), so over plain HTTP the UUID is built from `getRandomValues`.
 */
export function newIdempotencyKey(cryptoSource = globalThis.crypto) {
  if (typeof cryptoSource.randomUUID === 'function') return cryptoSource.randomUUID();

  const bytes = cryptoSource.getRandomValues(new Uint8Array(16));
  // The version (4) and variant (10xx) bits, as RFC 9562 sets them for random UUIDs.
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');

  const groups = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20)];
  return [...groups, hex.slice(20)].join('-');
}
