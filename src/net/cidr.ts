/**
 * IP addresses and CIDR ranges: the one parser behind `server.trusted_proxies` (http/trusted-proxies.ts)
 * and `access.networks` / `access.rules[].networks` (access/), and the matchers both use.
 *
 * Every address in Postern is written one way: IPv4 as a dotted quad of decimal octets without
 * leading zeros, IPv6 in RFC 5952 form, and an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a
 * dual-stack socket reports) as the IPv4 it maps. The other spellings ipaddr.js and inet_aton accept
 * (`0x7f.1`, `127.1`, `0177.0.0.1`, `2130706433`) would let one address hide behind many, so they are
 * refused, as is the deprecated IPv4-compatible `::1.2.3.4` (ipaddr.js reads it as `::ffff:1.2.3.4`).
 *
 * A range is written `address/prefix` or as one address (a /32 or /128). Its host bits must be zero:
 * `10.0.0.5/8` is more likely a typo than a network, so it is refused with the network to write.
 * An IPv6 range over IPv4-mapped addresses (`::ffff:10.0.0.0/104`) is the IPv4 range it maps, and an
 * IPv6 range wide enough to hold the whole mapped block (`::/0`, `::/80`) also holds every IPv4 address.
 */
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from './ipaddr.js';

/** An address ready to match: IPv4 (including IPv4-mapped IPv6) as a uint32, IPv6 as its eight 16-bit parts. */
export type Address = { readonly v4: true; readonly value: number } | { readonly v4: false; readonly parts: readonly number[] };

/** A range; `network` and `parts` have their host bits zero. */
export type IpRange =
  | { readonly v4: true; readonly network: number; readonly mask: number; readonly bits: number }
  | { readonly v4: false; readonly parts: readonly number[]; readonly bits: number };

/** One written range gives one range, or two for an IPv6 range that also holds every IPv4 address. */
export type ParsedCidr =
  | { readonly ok: true; readonly ranges: readonly IpRange[] }
  | { readonly ok: false; readonly hostBits: boolean; readonly problem: string };

// Prefix lengths are written without leading zeros: `/08` is refused like `010.0.0.0`.
const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;
// `::ffff:0:0/96`: the IPv4-mapped block, which we fold into IPv4.
const MAPPED_BLOCK = ipaddr.IPv6.parse('::ffff:0:0');
const ALL_IPV4: IpRange = Object.freeze({ v4: true, network: 0, mask: 0, bits: 0 });

/**
 * Parse one address strictly and return it in canonical form, or undefined. No ports, no brackets,
 * no surrounding whitespace; an IPv6 zone id (`fe80::1%eth0`) is kept.
 */
export function parseIp(text: string): string | undefined {
  // net.isIPv4 accepts exactly the canonical dotted quad, so the text is already canonical.
  if (isIPv4(text)) return text;
  const mapped = mappedIPv4Text(text);
  if (mapped !== undefined) return mapped;
  const v6 = parseIPv6(text);
  if (v6 === undefined) return undefined;
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toString();
}

/** The same strict parse as parseIp, into the form ranges match against. Hot path: IPv4 allocates one small object. */
export function parseAddress(text: string): Address | undefined {
  if (isIPv4(text)) return { v4: true, value: dottedQuadToInt(text) };
  const mapped = mappedIPv4Text(text);
  if (mapped !== undefined) return { v4: true, value: dottedQuadToInt(mapped) };
  const v6 = parseIPv6(text);
  if (v6 === undefined) return undefined;
  if (v6.isIPv4MappedAddress()) return { v4: true, value: octetsToInt(v6.toIPv4Address().octets) };
  return { v4: false, parts: v6.parts };
}

/**
 * `192.168.1.0/24`, `10.0.0.1` (a /32), `fd00::/8`, `::1`. The problem, when there is one, is worded to
 * follow the key it was found under: `access.networks.home[0] has host bits set: …`.
 */
export function parseCidr(text: string): ParsedCidr {
  const invalid: ParsedCidr = { ok: false, hostBits: false, problem: `is not a valid CIDR or IP address: '${text}'` };
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !PREFIX.test(prefixText)) return invalid;

  let address: ipaddr.IPv4 | ipaddr.IPv6;
  let bits: number;
  if (ipaddr.IPv4.isValidFourPartDecimal(addressText)) {
    address = ipaddr.IPv4.parse(addressText);
    bits = prefixText === undefined ? 32 : Number(prefixText);
    if (bits > 32) return invalid;
  } else {
    const v6 = parseIPv6(addressText);
    if (v6 === undefined || v6.zoneId !== undefined) return invalid;
    address = v6;
    bits = prefixText === undefined ? 128 : Number(prefixText);
    if (bits > 128) return invalid;
  }

  const cidr = `${address.toString()}/${bits}`;
  const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  if (network.toString() !== address.toString()) {
    return { ok: false, hostBits: true, problem: `has host bits set: '${text}' (the network is ${written(network)}/${bits})` };
  }

  if (address instanceof ipaddr.IPv4) return { ok: true, ranges: [v4Range(address, bits)] };
  if (address.isIPv4MappedAddress() && bits >= 96) return { ok: true, ranges: [v4Range(address.toIPv4Address(), bits - 96)] };
  const v6: IpRange = Object.freeze({ v4: false, parts: Object.freeze(address.parts.slice()), bits });
  // Addresses are matched as IPv4 when they are mapped, so a range holding the mapped block holds all of IPv4.
  return { ok: true, ranges: bits <= 96 && MAPPED_BLOCK.match(address, bits) ? [v6, ALL_IPV4] : [v6] };
}

export function rangeContains(range: IpRange, address: Address): boolean {
  if (range.v4) return address.v4 && (address.value & range.mask) >>> 0 === range.network;
  if (address.v4) return false;
  let bits = range.bits;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if (((address.parts[i] ?? 0) & mask) !== range.parts[i]) return false;
  }
  return true;
}

/** Every address in `narrow` is in `broad`. */
export function rangeCovers(broad: IpRange, narrow: IpRange): boolean {
  if (broad.bits > narrow.bits) return false;
  if (broad.v4 && narrow.v4) return rangeContains(broad, { v4: true, value: narrow.network });
  if (!broad.v4 && !narrow.v4) return rangeContains(broad, { v4: false, parts: narrow.parts });
  return false;
}

/** An address as people write it; a mapped one keeps its dotted quad (`::ffff:10.0.0.0`). */
function written(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() ? `::ffff:${address.toIPv4Address().toString()}` : address.toString();
}

function v4Range(address: ipaddr.IPv4, bits: number): IpRange {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return Object.freeze({ v4: true, network: octetsToInt(address.octets), mask, bits });
}

/** The IPv4 part of `::ffff:a.b.c.d` (any case), the form dual-stack sockets report; else undefined. */
function mappedIPv4Text(text: string): string | undefined {
  if (text.length < 14 || text.charCodeAt(0) !== 0x3a || text.charCodeAt(1) !== 0x3a || text.charCodeAt(6) !== 0x3a) {
    return undefined;
  }
  for (let i = 2; i < 6; i++) if ((text.charCodeAt(i) | 0x20) !== 0x66) return undefined; // f or F
  const v4 = text.slice(7);
  return isIPv4(v4) ? v4 : undefined;
}

/** A dotted quad already checked by net.isIPv4, as an unsigned 32-bit integer. */
function dottedQuadToInt(text: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      n = n * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (c - 0x30);
    }
  }
  return n * 256 + octet;
}

function octetsToInt(octets: readonly number[]): number {
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

function parseIPv6(text: string): ipaddr.IPv6 | undefined {
  if (!isIPv6(text)) return undefined;
  // `::1.2.3.4` (the deprecated IPv4-compatible form) is read by ipaddr.js as `::ffff:1.2.3.4`;
  // nothing legitimate sends it, so it is refused rather than misread.
  if (text.lastIndexOf(':') === 1 && text.includes('.')) return undefined;
  if (!ipaddr.IPv6.isValid(text)) return undefined; // A zone id net.isIPv6 allows and ipaddr.js does not (`%en-0`).
  return ipaddr.IPv6.parse(text);
}
