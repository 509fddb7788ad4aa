import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which peers may tell us who the client is. `server.trusted_proxies` is compiled once, at start-up,
 * into one predicate; every request then costs one strict parse and a few prefix comparisons.
 *
 * Every address in Postern is written one way: IPv4 as a dotted quad, IPv6 in RFC 5952 form, and an
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a dual-stack socket reports) as the IPv4 it maps.
 */

type Range<A> = readonly [A, number];

/** The names `server.trusted_proxies` accepts besides addresses and CIDRs. */
export const TRUSTED_PROXY_NAMES: Readonly<Record<'loopback' | 'private' | 'docker', readonly string[]>> = Object.freeze({
  loopback: Object.freeze(['127.0.0.0/8', '::1/128']),
  private: Object.freeze(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10']),
  // Docker's default bridge and user-defined networks are carved out of 172.16.0.0/12.
  docker: Object.freeze(['172.16.0.0/12']),
});

// `::ffff:0:0/96`: the IPv4-mapped block, which we fold into IPv4.
const MAPPED_BLOCK = ipaddr.IPv6.parse('::ffff:0:0');
const ALL_IPV4: Range<ipaddr.IPv4> = [ipaddr.IPv4.parse('0.0.0.0'), 0];
const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parse one address strictly and return it in canonical form, or undefined.
 *
 * Only a dotted quad of decimal octets without leading zeros counts as IPv4: the forms ipaddr.js and
 * inet_aton also accept (`0x7f.1`, `127.1`, `0177.0.0.1`, `2130706433`) would let one address hide
 * behind many spellings. No ports, no brackets, no surrounding whitespace.
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

/** True when `entry` is an address, a CIDR or one of the names, as `compileTrustedProxies` accepts. */
export function isTrustedProxyEntry(entry: string): boolean {
  return Object.hasOwn(TRUSTED_PROXY_NAMES, entry) || parseRange(entry) !== undefined;
}

/**
 * Compile the trusted-proxy entries into one predicate. An address that does not parse is never
 * trusted. Throws on an invalid entry: config validation reports those first, this is a safety net.
 */
export function compileTrustedProxies(entries: readonly string[]): (ip: string) => boolean {
  // IPv4 ranges as [network, mask] integers: the common case costs a parse and a few ANDs.
  const v4: Array<readonly [number, number]> = [];
  const v6: Range<ipaddr.IPv6>[] = [];
  for (const entry of entries) {
    const texts = Object.hasOwn(TRUSTED_PROXY_NAMES, entry)
      ? TRUSTED_PROXY_NAMES[entry as keyof typeof TRUSTED_PROXY_NAMES]
      : [entry];
    for (const text of texts) {
      const range = parseRange(text);
      if (range === undefined) {
        throw new Error(
          `trusted proxy '${entry}' is not an address, a CIDR or one of: ${Object.keys(TRUSTED_PROXY_NAMES).join(', ')}`,
        );
      }
      for (const [network, bits] of range.v4) {
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        v4.push([(octetsToInt(network.octets) & mask) >>> 0, mask]);
      }
      v6.push(...range.v6);
    }
  }

  function trustedV4(n: number): boolean {
    for (let i = 0; i < v4.length; i++) {
      const [network, mask] = v4[i]!;
      if ((n & mask) >>> 0 === network) return true;
    }
    return false;
  }

  return function isTrusted(ip: string): boolean {
    if (isIPv4(ip)) return trustedV4(dottedQuadToInt(ip));
    const mapped = mappedIPv4Text(ip);
    if (mapped !== undefined) return trustedV4(dottedQuadToInt(mapped));
    const address = parseIPv6(ip);
    if (address === undefined) return false;
    if (address.isIPv4MappedAddress()) return trustedV4(octetsToInt(address.toIPv4Address().octets));
    for (let i = 0; i < v6.length; i++) {
      const range = v6[i]!;
      if (address.match(range[0], range[1])) return true;
    }
    return false;
  };
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
  try {
    return ipaddr.IPv6.parse(text);
  } catch {
    // A zone id net.isIPv6 allows and ipaddr.js does not (`%en-0`).
    return undefined;
  }
}

/** An address or CIDR as the IPv4 and IPv6 ranges it covers; undefined when it is not one. */
function parseRange(text: string): { v4: Range<ipaddr.IPv4>[]; v6: Range<ipaddr.IPv6>[] } | undefined {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !PREFIX.test(prefixText)) return undefined;

  if (isIPv4(addressText)) {
    const bits = prefixText === undefined ? 32 : Number(prefixText);
    if (bits > 32) return undefined;
    return { v4: [[ipaddr.IPv4.parse(addressText), bits]], v6: [] };
  }

  const v6 = parseIPv6(addressText);
  if (v6 === undefined || v6.zoneId !== undefined) return undefined;
  const bits = prefixText === undefined ? 128 : Number(prefixText);
  if (bits > 128) return undefined;
  // Addresses are tested as IPv4 when they are mapped, so a mapped range becomes an IPv4 range,
  // and a range wide enough to hold the whole mapped block (`::/0`) also holds every IPv4 address.
  if (v6.isIPv4MappedAddress() && bits >= 96) return { v4: [[v6.toIPv4Address(), bits - 96]], v6: [] };
  const v4 = bits <= 96 && MAPPED_BLOCK.match(v6, bits) ? [ALL_IPV4] : [];
  return { v4, v6: [[v6, bits]] };
}
