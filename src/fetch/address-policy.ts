/**
 * Which IP addresses an image download may connect to, and the operator's allowlist. Pure: no DNS, no
 * sockets; ssrf-guard applies it to the addresses actually dialled.
 *
 * Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and updates), RFC 6052
 * (NAT64), RFC 3056 (6to4), RFC 4380 (Teredo), RFC 4291 (IPv4-mapped and -compatible), RFC 9637
 * (3fff::/20 documentation). IPv4 is refused by a list of special ranges; IPv6 is refused unless it is
 * global unicast (2000::/3) outside the special ranges in it, and forms that embed an IPv4 address are
 * judged by that address, so `::ffff:127.0.0.1` is as forbidden as `127.0.0.1`.
 */
import { isIPv4, isIPv6 } from 'node:net';

interface Range4 {
  base: number;
  prefix: number;
  label: string;
}

interface Range6 {
  base: bigint;
  prefix: number;
  label: string;
}

/** An IPv4 address as an unsigned 32-bit number, or undefined if `ip` is not dotted-quad IPv4. */
function parseIPv4(ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined;
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** An IPv6 address as a 128-bit number, or undefined if `ip` is not IPv6 (a zone id is ignored). */
function parseIPv6(ip: string): bigint | undefined {
  const bare = ip.replace(/%.*$/, '');
  if (!isIPv6(bare)) return undefined;
  let head = bare;
  const words: number[] = [];
  if (bare.includes('.')) {
    // A dotted-quad tail (`::ffff:1.2.3.4`) is the last two 16-bit words.
    const cut = bare.lastIndexOf(':');
    const v4 = parseIPv4(bare.slice(cut + 1));
    if (v4 === undefined) return undefined;
    words.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
    head = bare.endsWith('::', cut + 1) ? bare.slice(0, cut + 1) : bare.slice(0, cut);
  }
  const [left = '', right] = head.split('::');
  const hex = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const leftWords = hex(left);
  const rightWords = right === undefined ? [] : hex(right);
  const zeros = 8 - leftWords.length - rightWords.length - words.length;
  const all = [
    ...leftWords,
    ...new Array<number>(right === undefined ? 0 : Math.max(0, zeros)).fill(0),
    ...rightWords,
    ...words,
  ];
  if (all.length !== 8) return undefined;
  return all.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

function cidr4(text: string, label: string): Range4 {
  const [ip = '', prefix = '32'] = text.split('/');
  return { base: parseIPv4(ip) ?? 0, prefix: Number(prefix), label };
}

function cidr6(text: string, label: string): Range6 {
  const [ip = '', prefix = '128'] = text.split('/');
  return { base: parseIPv6(ip) ?? 0n, prefix: Number(prefix), label };
}

function in4(addr: number, r: Range4): boolean {
  const size = 2 ** (32 - r.prefix);
  return Math.floor(addr / size) === Math.floor(r.base / size);
}

function in6(addr: bigint, r: Range6): boolean {
  const shift = BigInt(128 - r.prefix);
  return addr >> shift === r.base >> shift;
}

/**
 * The special ranges, built on first use: parsing them costs about 20 ms (IPv6 validation compiles a
 * large regular expression), which every CLI command paid at start-up when they were module constants.
 */
interface SpecialRanges {
  forbiddenV4: readonly Range4[];
  forbiddenV6: readonly Range6[];
  globalUnicast: Range6;
  mapped: Range6;
  translated: Range6;
  compatible: Range6;
  nat64: Range6;
  sixToFour: Range6;
  teredo: Range6;
}

let specialRanges: SpecialRanges | undefined;

function ranges(): SpecialRanges {
  specialRanges ??= {
    // Order matters only for the label reported (broadcast sits inside 240/4).
    forbiddenV4: [
      cidr4('0.0.0.0/8', 'unspecified'),
      cidr4('10.0.0.0/8', 'private'),
      cidr4('100.64.0.0/10', 'carrier-grade NAT'),
      cidr4('127.0.0.0/8', 'loopback'),
      cidr4('169.254.0.0/16', 'link-local'), // includes 169.254.169.254, the cloud metadata service
      cidr4('172.16.0.0/12', 'private'),
      cidr4('192.0.0.0/24', 'IETF protocol assignments'),
      cidr4('192.0.2.0/24', 'documentation'),
      cidr4('192.88.99.0/24', '6to4 relay anycast'),
      cidr4('192.168.0.0/16', 'private'),
      cidr4('198.18.0.0/15', 'benchmarking'),
      cidr4('198.51.100.0/24', 'documentation'),
      cidr4('203.0.113.0/24', 'documentation'),
      cidr4('224.0.0.0/4', 'multicast'),
      cidr4('255.255.255.255/32', 'broadcast'),
      cidr4('240.0.0.0/4', 'reserved'),
    ],
    forbiddenV6: [
      cidr6('::/128', 'unspecified'),
      cidr6('::1/128', 'loopback'),
      cidr6('64:ff9b:1::/48', 'local-use NAT64'),
      cidr6('100::/64', 'discard-only'),
      cidr6('2001:2::/48', 'benchmarking'),
      cidr6('2001:10::/28', 'ORCHID'),
      cidr6('2001:20::/28', 'ORCHIDv2'),
      cidr6('2001:db8::/32', 'documentation'),
      cidr6('3fff::/20', 'documentation'),
      cidr6('fc00::/7', 'unique-local'),
      cidr6('fe80::/10', 'link-local'),
      cidr6('fec0::/10', 'site-local'),
      cidr6('ff00::/8', 'multicast'),
    ],
    globalUnicast: cidr6('2000::/3', 'global unicast'),
    mapped: cidr6('::ffff:0:0/96', 'IPv4-mapped'),
    translated: cidr6('::ffff:0:0:0/96', 'IPv4-translated'),
    compatible: cidr6('::/96', 'IPv4-compatible'),
    nat64: cidr6('64:ff9b::/96', 'NAT64'),
    sixToFour: cidr6('2002::/16', '6to4'),
    teredo: cidr6('2001::/32', 'Teredo'),
  };
  return specialRanges;
}

const low32 = (addr: bigint, shift = 0n): number => Number((addr >> shift) & 0xffffffffn);

function forbiddenRange4(addr: number): string | undefined {
  return ranges().forbiddenV4.find((r) => in4(addr, r))?.label;
}

function forbiddenRange6(addr: bigint): string | undefined {
  const r = ranges();
  const special = r.forbiddenV6.find((range) => in6(addr, range));
  if (special) return special.label;
  // Forms that carry an IPv4 address: the packet ends up at that address, so judge it.
  const embedded = (form: Range6, v4: number): string | undefined => {
    const inner = forbiddenRange4(v4);
    return inner === undefined ? undefined : `${form.label} ${inner}`;
  };
  for (const form of [r.mapped, r.translated, r.compatible, r.nat64]) {
    if (in6(addr, form)) return embedded(form, low32(addr));
  }
  if (in6(addr, r.sixToFour)) return embedded(r.sixToFour, low32(addr, 80n));
  if (in6(addr, r.teredo)) {
    // The server's address is in bits 32–63, the client's (inverted) in the last 32 bits.
    return embedded(r.teredo, low32(addr, 64n)) ?? embedded(r.teredo, ~low32(addr) >>> 0);
  }
  return in6(addr, r.globalUnicast) ? undefined : 'reserved';
}

/**
 * The name of the special range `ip` falls in ("loopback", "private", "IPv4-mapped loopback", …), or
 * undefined for a public address. Anything that is not an IP address counts as forbidden ("invalid").
 *
 * @example
 * forbiddenRange('169.254.169.254'); // 'link-local'
 */
export function forbiddenRange(ip: string): string | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return forbiddenRange4(v4);
  const v6 = parseIPv6(bare);
  if (v6 !== undefined) return forbiddenRange6(v6);
  return 'invalid';
}

/**
 * Whether an image download must not connect to `ip`: loopback, private, link-local (cloud metadata),
 * unique-local, multicast, unspecified, broadcast, CGNAT, benchmarking, documentation, reserved, and
 * IPv6 forms embedding such an IPv4 address. Fails closed: a string that is not an IP is forbidden.
 *
 * @example
 * isForbiddenAddress('::ffff:7f00:1'); // true (IPv4-mapped 127.0.0.1)
 * isForbiddenAddress('8.8.8.8'); // false
 */
export function isForbiddenAddress(ip: string): boolean {
  return forbiddenRange(ip) !== undefined;
}

// ---------------------------------------------------------------------------------------------------
// Allowlist

/** One allowlist entry: an exact host name, every subdomain of a domain, or an address block. */
export type AllowlistEntry =
  | { kind: 'host'; name: string }
  | { kind: 'subdomains'; domain: string }
  | { kind: 'cidr'; text: string; base: bigint; prefix: number };

export type Allowlist = readonly AllowlistEntry[];

/** IPv4 lives in the IPv4-mapped block, so `10.0.0.0/8` also covers `::ffff:10.1.2.3`. */
function toMapped128(ip: string): bigint | undefined {
  const v4 = parseIPv4(ip);
  if (v4 !== undefined) return 0xffff00000000n | BigInt(v4);
  return parseIPv6(ip);
}

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function isHostName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => HOST_LABEL.test(label));
}

/** Lower case, without a trailing dot or IPv6 brackets: the form hosts are compared in. */
export function normaliseHost(host: string): string {
  const lower = host.toLowerCase().replace(/\.$/, '');
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

function parseEntry(raw: string): AllowlistEntry | undefined {
  const entry = normaliseHost(raw);
  const slash = entry.indexOf('/');
  const ipPart = slash === -1 ? entry : entry.slice(0, slash);
  const ip = normaliseHost(ipPart);
  const base = toMapped128(ip);
  if (base !== undefined) {
    const isV4 = parseIPv4(ip) !== undefined;
    const max = isV4 ? 32 : 128;
    const prefixText = slash === -1 ? String(max) : entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
    const prefix = Number(prefixText) + (isV4 ? 96 : 0);
    const shift = BigInt(128 - prefix);
    return { kind: 'cidr', text: raw, base: (base >> shift) << shift, prefix };
  }
  if (slash !== -1) return undefined;
  if (entry.startsWith('*.')) {
    const domain = entry.slice(2);
    return isHostName(domain) ? { kind: 'subdomains', domain } : undefined;
  }
  return isHostName(entry) ? { kind: 'host', name: entry } : undefined;
}

/**
 * Parses a comma-separated allowlist: host names (exact, case-insensitive), `*.example.com` (any
 * subdomain of example.com, not example.com itself), IP addresses and CIDR blocks. Empty items are
 * skipped; invalid ones make it throw one error naming all of them (for the config loader).
 *
 * @example
 * parseAllowlist('images.intranet, *.corp.example, 10.0.0.0/8, 127.0.0.1');
 */
export function parseAllowlist(raw: string | readonly string[]): Allowlist {
  const items = (typeof raw === 'string' ? raw.split(',') : raw).map((s) => s.trim()).filter(Boolean);
  const entries: AllowlistEntry[] = [];
  const invalid: string[] = [];
  for (const item of items) {
    const entry = parseEntry(item);
    if (entry) entries.push(entry);
    else invalid.push(item);
  }
  if (invalid.length > 0) {
    throw new Error(
      `invalid entries ${invalid.map((s) => JSON.stringify(s)).join(', ')}: each must be a host name, ` +
        '*.domain, an IP address or a CIDR block',
    );
  }
  return Object.freeze(entries);
}

/**
 * Whether the allowlist lets a download connect to `address` for `hostname` (the URL's host): the
 * host matches a name entry, or the address lies in a CIDR entry.
 *
 * @example
 * isAllowed({ hostname: 'images.intranet', address: '10.1.2.3' }, parseAllowlist('images.intranet'));
 */
export function isAllowed(target: { hostname: string; address: string }, allowlist: Allowlist): boolean {
  if (allowlist.length === 0) return false;
  const host = normaliseHost(target.hostname);
  const addr = toMapped128(normaliseHost(target.address).replace(/%.*$/, ''));
  return allowlist.some((entry) => {
    switch (entry.kind) {
      case 'host':
        return host === entry.name;
      case 'subdomains':
        return host.endsWith(`.${entry.domain}`);
      case 'cidr': {
        if (addr === undefined) return false;
        const shift = BigInt(128 - entry.prefix);
        return addr >> shift === entry.base >> shift;
      }
    }
  });
}
