/**
 * The policy on webhook addresses: a host allow-list checked before sending, and
 * an address check at connect time, after DNS resolution, so a name that resolves to a private
 * or loopback address cannot reach internal hosts.
 */
import { BlockList, isIP } from 'node:net';

import { WebhookRejectedError } from '../../runtime/contract/errors.js';

/** Ranges no webhook may reach unless private addresses are allowed. */
const internalRanges: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
];

/** The webhook settings. */
export interface AddressPolicyOptions {
  /** Exact host names, or `*.example.com` for any subdomain. Empty refuses every callback. */
  allowedHosts: readonly string[];
  allowPrivateAddresses: boolean;
}

export class AddressPolicy {
  private readonly internal = new BlockList();

  constructor(private readonly options: AddressPolicyOptions) {
    for (const [address, prefix, family] of internalRanges) this.internal.addSubnet(address, prefix, family);
  }

  /** Throws unless `url` is http(s) on an allowed host. */
  checkUrl(url: string): URL {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new WebhookRejectedError(`${parsed.protocol} is not http or https`);
    }
    if (parsed.username || parsed.password) {
      throw new WebhookRejectedError('the URL must not carry credentials');
    }
    const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (!this.options.allowedHosts.some((pattern) => matches(pattern.toLowerCase(), host))) {
      throw new WebhookRejectedError(`host ${host} is not in WEBHOOK_ALLOWED_HOSTS`);
    }
    if (isIP(host) !== 0) this.checkAddress(host);

    return parsed;
  }

  /** Throws when `address` is internal and private addresses are not allowed. */
  checkAddress(address: string): void {
    if (this.options.allowPrivateAddresses) return;

    // IPv4-mapped IPv6 addresses come dotted from DNS (::ffff:127.0.0.1) but in hex from URL
    // parsing (::ffff:7f00:1); both are checked as the IPv4 address they map.
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
    const plain = mapped
      ? hexToIpv4(mapped[1]!, mapped[2]!)
      : address.startsWith('::ffff:') ? address.slice(7) : address;
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    if (this.internal.check(plain, family)) {
      throw new WebhookRejectedError(`${address} is a private or loopback address`);
    }
  }
}

function matches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host !== pattern.slice(2);

  return pattern === host;
}

function hexToIpv4(high: string, low: string): string {
  const value = (parseInt(high, 16) << 16) | parseInt(low, 16);

  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}
