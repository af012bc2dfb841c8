/**
 * The client's address: the socket's peer, or the nearest address in X-Forwarded-For that is
 * not a trusted proxy when the peer is one. Untrusted peers cannot forge their address.
 */
import { BlockList, isIP } from 'node:net';

/** Parses `127.0.0.1, 10.0.0.0/8, ::1` into a matcher of trusted proxy addresses. */
export function parseTrustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }

  return list;
}

/** Returns the client address for a request that arrived from `peer`. */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: BlockList,
): string {
  if (!peer) return 'unknown';
  if (!isTrusted(peer, trusted) || !forwardedFor) return normalize(peer);

  const hops = forwardedFor.split(',').map((hop) => hop.trim()).filter((hop) => isIP(hop) !== 0);
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index]!;
    if (!isTrusted(hop, trusted)) return normalize(hop);
  }

  return normalize(hops[0] ?? peer);
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const plain = normalize(address);

  return trusted.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
}

/** Strips the IPv4-mapped IPv6 prefix that dual-stack sockets report. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
