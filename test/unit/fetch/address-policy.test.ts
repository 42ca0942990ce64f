// The address policy and the allowlist: tables of addresses against the IANA special-purpose
// registries. Pure, < 50 ms.
import { describe, expect, it } from 'vitest';
import {
  forbiddenRange,
  isAllowed,
  isForbiddenAddress,
  parseAllowlist,
} from '../../../src/fetch/address-policy.js';

// [address, the range it must be refused as]
const FORBIDDEN: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'link-local'], // cloud metadata
  ['169.254.0.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456:789a::1', 'unique-local'],
  ['fec0::1', 'site-local'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.255', 'carrier-grade NAT'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['2001:2::1', 'benchmarking'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.1', 'documentation'],
  ['203.0.113.1', 'documentation'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['192.0.0.170', 'IETF protocol assignments'],
  ['100::1', 'discard-only'],
  ['64:ff9b:1::1', 'local-use NAT64'],
  // IPv4-mapped, -translated and -compatible IPv6: judged by the embedded IPv4.
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
  ['::ffff:7f00:1', 'IPv4-mapped loopback'],
  ['0:0:0:0:0:ffff:7f00:0001', 'IPv4-mapped loopback'],
  ['::ffff:169.254.169.254', 'IPv4-mapped link-local'],
  ['::ffff:a9fe:a9fe', 'IPv4-mapped link-local'],
  ['::ffff:10.0.0.1', 'IPv4-mapped private'],
  ['::ffff:0.0.0.0', 'IPv4-mapped unspecified'],
  ['::ffff:0:7f00:1', 'IPv4-translated loopback'],
  ['::127.0.0.1', 'IPv4-compatible loopback'],
  ['::7f00:1', 'IPv4-compatible loopback'],
  // NAT64, 6to4 and Teredo carrying a forbidden IPv4.
  ['64:ff9b::127.0.0.1', 'NAT64 loopback'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 link-local'],
  ['2002:7f00:1::1', '6to4 loopback'],
  ['2002:c0a8:101::1', '6to4 private'],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo loopback'], // client ~0x80fffffe = 127.0.0.1
  ['2001:0:7f00:1::1', 'Teredo loopback'], // server 127.0.0.1
  // Not global unicast at all.
  ['1::1', 'reserved'],
  ['4000::1', 'reserved'],
  // Not an address: fail closed.
  ['', 'invalid'],
  ['localhost', 'invalid'],
  ['2130706433', 'invalid'],
  ['0x7f.1', 'invalid'],
  ['1.2.3', 'invalid'],
  ['::ffff:1.2.3.256', 'invalid'],
];

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '172.15.255.255', // just below 172.16/12
  '172.32.0.0', // just above it
  '100.63.255.255', // just below 100.64/10
  '100.128.0.0',
  '198.17.255.255', // just below 198.18/15
  '198.20.0.0',
  '169.253.255.255',
  '223.255.255.255', // just below multicast
  '2606:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001:81b::200e',
  '::ffff:8.8.8.8', // mapped public
  '::ffff:808:808',
  '64:ff9b::8.8.8.8', // NAT64 of a public address
  '2002:808:808::1', // 6to4 of 8.8.8.8
  '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo, client 8.8.8.8
  '[2606:4700::1111]',
];

describe('isForbiddenAddress', () => {
  it.each(FORBIDDEN)('refuses %s (%s)', (ip, range) => {
    // Wrong if it fails: a download could reach this internal or non-routable address.
    expect(forbiddenRange(ip)).toBe(range);
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each(PUBLIC)('allows the public address %s', (ip) => {
    // Wrong if it fails: images on ordinary public hosts could not be fetched.
    expect(forbiddenRange(ip)).toBeUndefined();
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('parseAllowlist and isAllowed', () => {
  const list = parseAllowlist(
    ' Images.Intranet , *.corp.example,10.0.0.0/8,127.0.0.1,[::1], fd00::/8, 192.168.7.9/16,,',
  );

  it('parses host names, subdomain wildcards, addresses and CIDR blocks, skipping empty items', () => {
    // Wrong if it fails: an operator's URL_ALLOWLIST would be read differently from what it says.
    expect(list.map((e) => e.kind)).toEqual(['host', 'subdomains', 'cidr', 'cidr', 'cidr', 'cidr', 'cidr']);
    expect(list[0]).toEqual({ kind: 'host', name: 'images.intranet' });
    expect(list[1]).toEqual({ kind: 'subdomains', domain: 'corp.example' });
    expect(parseAllowlist('')).toEqual([]);
  });

  it.each([
    ['images.intranet', '10.9.9.9', true], // exact host: any address it resolves to
    ['IMAGES.INTRANET.', '127.0.0.5', true], // case and trailing dot do not matter
    ['images.intranet.evil.test', '127.0.0.5', false], // no prefix match
    ['evilimages.intranet', '127.0.0.5', false],
    ['a.corp.example', '172.16.0.1', true], // *.corp.example covers subdomains…
    ['a.b.corp.example', '172.16.0.1', true],
    ['corp.example', '172.16.0.1', false], // …but not the domain itself
    ['xcorp.example', '172.16.0.1', false],
    ['any.test', '10.1.2.3', true], // 10.0.0.0/8
    ['any.test', '::ffff:10.1.2.3', true], // the same address, IPv4-mapped
    ['any.test', '11.0.0.1', false],
    ['any.test', '127.0.0.1', true], // a bare address is a /32
    ['any.test', '127.0.0.2', false],
    ['any.test', '::1', true],
    ['any.test', 'fd12::1', true],
    ['any.test', 'fc00::1', false],
    ['any.test', '192.168.200.1', true], // host bits of 192.168.7.9/16 are ignored
    ['any.test', 'not-an-ip', false],
  ])('host %s at %s → %s', (hostname, address, expected) => {
    // Wrong if it fails: the allowlist would let through more, or less, than the operator wrote.
    expect(isAllowed({ hostname, address }, list)).toBe(expected);
  });

  it('lists every invalid entry in one error', () => {
    // Wrong if it fails: a typo in URL_ALLOWLIST would be silently ignored or reported one at a time.
    expect(() => parseAllowlist('ok.test, bad host, 10.0.0.0/33, 1.2.3.4/x, *., ::1/129, -x.test')).toThrow(
      /invalid entries "bad host", "10.0.0.0\/33", "1.2.3.4\/x", "\*\.", "::1\/129", "-x.test"/,
    );
  });

  it('an empty allowlist allows nothing', () => {
    // Wrong if it fails: an unset URL_ALLOWLIST would open private addresses.
    expect(isAllowed({ hostname: 'localhost', address: '127.0.0.1' }, parseAllowlist(''))).toBe(false);
  });
});
