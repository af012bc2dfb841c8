import { describe, expect, it } from 'vitest';

import { clientAddress, parseTrustedProxies } from './client-address.js';

const loopback = parseTrustedProxies(['127.0.0.1', '::1']);
const ranges = parseTrustedProxies(['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8']);

describe('clientAddress', () => {
  it('returns an untrusted peer', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.7', loopback)).toBe('203.0.113.9');
  });

  it('believes a trusted peer', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.7', loopback)).toBe('198.51.100.7');
  });

  it('returns a trusted peer without the header', () => {
    expect(clientAddress('127.0.0.1', undefined, loopback)).toBe('127.0.0.1');
  });

  it('returns a trusted peer for an empty header', () => {
    expect(clientAddress('127.0.0.1', '', loopback)).toBe('127.0.0.1');
  });

  it('returns unknown without a peer', () => {
    expect(clientAddress(undefined, '198.51.100.7', loopback)).toBe('unknown');
  });

  it('trusts nobody with an empty list', () => {
    const none = parseTrustedProxies([]);

    expect(clientAddress('127.0.0.1', '198.51.100.7', none)).toBe('127.0.0.1');
  });
});

describe('clientAddress ranges', () => {
  const cases: Array<[string, string, string]> = [
    ['an IPv4 range', '10.1.2.3', '198.51.100.7'],
    ['the start of a range', '10.0.0.0', '198.51.100.7'],
    ['the end of a range', '10.255.255.255', '198.51.100.7'],
    ['a /12 range', '172.31.0.1', '198.51.100.7'],
    ['an IPv6 range', 'fd12:3456::1', '2001:db8::7'],
  ];

  it.each(cases)('believes a peer in %s', (_case, peer, client) => {
    expect(clientAddress(peer, client, ranges)).toBe(client);
  });

  const outside: Array<[string, string]> = [
    ['just below a range', '9.255.255.255'],
    ['just above a range', '11.0.0.0'],
    ['beyond a /12', '172.32.0.1'],
    ['outside an IPv6 range', 'fe80::1'],
  ];

  it.each(outside)('ignores a peer %s', (_case, peer) => {
    expect(clientAddress(peer, '198.51.100.7', ranges)).toBe(peer);
  });

  it('believes an exact IPv6 peer', () => {
    expect(clientAddress('::1', '2001:db8::7', loopback)).toBe('2001:db8::7');
  });

  it('does not match ::1 against 127.0.0.1', () => {
    const ipv4Only = parseTrustedProxies(['127.0.0.1']);

    expect(clientAddress('::1', '198.51.100.7', ipv4Only)).toBe('::1');
  });
});

describe('clientAddress IPv4-mapped peers', () => {
  it('believes a mapped trusted peer', () => {
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.7', loopback)).toBe('198.51.100.7');
  });

  it('believes a mapped peer in a range', () => {
    expect(clientAddress('::ffff:10.9.8.7', '198.51.100.7', ranges)).toBe('198.51.100.7');
  });

  it('strips the prefix of an untrusted peer', () => {
    expect(clientAddress('::ffff:203.0.113.9', '198.51.100.7', loopback)).toBe('203.0.113.9');
  });

  it('strips the prefix of a forwarded hop', () => {
    expect(clientAddress('127.0.0.1', '::ffff:198.51.100.7', loopback)).toBe('198.51.100.7');
  });

  it('skips a mapped trusted hop', () => {
    const forwarded = '198.51.100.7, ::ffff:10.0.0.2';

    expect(clientAddress('10.0.0.1', forwarded, ranges)).toBe('198.51.100.7');
  });
});

describe('clientAddress hops', () => {
  it('takes the nearest untrusted hop', () => {
    const forwarded = '192.0.2.1, 198.51.100.7, 10.0.0.2, 10.0.0.3';

    expect(clientAddress('10.0.0.1', forwarded, ranges)).toBe('198.51.100.7');
  });

  it('ignores hops a client prepended', () => {
    const forwarded = '10.0.0.5, 192.0.2.66, 198.51.100.7';

    expect(clientAddress('10.0.0.1', forwarded, ranges)).toBe('198.51.100.7');
  });

  it('returns the first hop when all are trusted', () => {
    const forwarded = '10.0.0.4, 10.0.0.3, 10.0.0.2';

    expect(clientAddress('10.0.0.1', forwarded, ranges)).toBe('10.0.0.4');
  });

  it('trims spaces around hops', () => {
    expect(clientAddress('127.0.0.1', '  198.51.100.7  ,127.0.0.1 ', loopback)).toBe(
      '198.51.100.7',
    );
  });

  const garbage: Array<[string, string]> = [
    ['a word', 'unknown, 198.51.100.7, garbage'],
    ['an address with a port', '198.51.100.7, 192.0.2.1:8080'],
    ['a bracketed IPv6 address', '198.51.100.7, [2001:db8::1]'],
    ['an address out of range', '198.51.100.7, 300.1.2.3'],
    ['empty hops', ',, 198.51.100.7 ,,'],
    ['a hostname', 'proxy.example, 198.51.100.7, proxy.example'],
  ];

  it.each(garbage)('ignores %s', (_case, forwarded) => {
    expect(clientAddress('127.0.0.1', forwarded, loopback)).toBe('198.51.100.7');
  });

  it('returns the peer when every hop is garbage', () => {
    expect(clientAddress('127.0.0.1', 'unknown, _hidden', loopback)).toBe('127.0.0.1');
  });
});

describe('parseTrustedProxies', () => {
  it('matches an exact IPv4 address only', () => {
    const list = parseTrustedProxies(['192.0.2.10']);

    expect(list.check('192.0.2.10', 'ipv4')).toBe(true);
    expect(list.check('192.0.2.11', 'ipv4')).toBe(false);
  });

  it('matches an IPv6 range', () => {
    const list = parseTrustedProxies(['2001:db8::/32']);

    expect(list.check('2001:db8:ffff::1', 'ipv6')).toBe(true);
    expect(list.check('2001:db9::1', 'ipv6')).toBe(false);
  });

  it('matches everything with /0', () => {
    const list = parseTrustedProxies(['0.0.0.0/0']);

    expect(list.check('203.0.113.9', 'ipv4')).toBe(true);
  });
});
