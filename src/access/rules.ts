/**
 * Compiled access rules: the shapes decide() walks, and the small matchers they are built from.
 * Everything here is built once by compileAccess() (schema.ts) and frozen; nothing parses
 * configuration text on the request path.
 */

import ipaddr from 'ipaddr.js';
import type { PathMatcher } from './glob.js';

export type Policy = 'bypass' | 'authenticated' | 'deny';

export const POLICIES: readonly Policy[] = ['bypass', 'authenticated', 'deny'];

/** Methods a `viewer` may use wherever it is allowed, unless the rule says `viewer_write: true`. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export const VIEWER_ROLE = 'viewer';

// ----------------------------------------------------------------------------------------- hosts

export interface HostMatcher {
  /** Canonical exact host names. */
  readonly exact: ReadonlySet<string>;
  /** `.example.com` for `*.example.com`: any depth of subdomain, never the bare domain. */
  readonly suffixes: readonly string[];
}

export function hostMatches(matcher: HostMatcher, host: string): boolean {
  if (matcher.exact.has(host)) return true;
  for (const suffix of matcher.suffixes) {
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}

/** Is `host` the domain itself or under it? (`example.com` covers `a.b.example.com`.) */
export function inDomain(host: string, domain: string): boolean {
  return host === domain || (host.length > domain.length + 1 && host.endsWith(domain) && host.charCodeAt(host.length - domain.length - 1) === 0x2e);
}

// -------------------------------------------------------------------------------------- networks

/** An address range; IPv4 (including IPv4-mapped IPv6) as 32-bit numbers, IPv6 as 16-bit parts. */
export type IpRange =
  | { readonly v4: true; readonly network: number; readonly mask: number; readonly bits: number }
  | { readonly v4: false; readonly parts: readonly number[]; readonly bits: number };

export type ClientAddress = { readonly v4: true; readonly value: number } | { readonly v4: false; readonly parts: readonly number[] };

function v4Number(octets: readonly number[]): number {
  return (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) >>> 0;
}

function v4Mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export type ParsedRange = { ok: true; range: IpRange } | { ok: false; problem: string };

/**
 * `192.168.1.0/24`, `10.0.0.1` (a /32), `fd00::/8`, `::1`. IPv4 must be dotted-quad decimal;
 * IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) becomes the IPv4 range. Host bits must be zero: a
 * `192.168.1.5/24` is more likely a typo than a network.
 */
export function parseRange(text: string): ParsedRange {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const bitsText = slash < 0 ? undefined : text.slice(slash + 1);
  const invalid: ParsedRange = { ok: false, problem: `is not a valid CIDR or IP address: '${text}'` };
  if (addrText.includes('%')) return invalid;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(addrText)) addr = ipaddr.IPv4.parse(addrText);
  else if (ipaddr.IPv6.isValid(addrText)) addr = ipaddr.IPv6.parse(addrText);
  else return invalid;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  let bits = max;
  if (bitsText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(bitsText)) return invalid;
    bits = Number(bitsText);
    if (bits > max) return invalid;
  }
  if (addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() && bits >= 96) {
    addr = addr.toIPv4Address();
    bits -= 96;
  }
  if (addr instanceof ipaddr.IPv4) {
    const mask = v4Mask(bits);
    const value = v4Number(addr.octets);
    if ((value & mask) >>> 0 !== value) {
      return { ok: false, problem: `has host bits set: '${text}' (the network is ${ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${bits}`).toString()}/${bits})` };
    }
    return { ok: true, range: { v4: true, network: value, mask, bits } };
  }
  const parts = addr.parts.slice();
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const partMask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    if (((parts[i] ?? 0) & partMask) !== parts[i]) {
      return { ok: false, problem: `has host bits set: '${text}'` };
    }
  }
  return { ok: true, range: { v4: false, parts, bits } };
}

/**
 * The client address resolved by the caller (trusted-proxy walk). IPv4-mapped IPv6 (as Node
 * reports IPv4 peers on a dual-stack socket) becomes IPv4. Undefined when it is not an address.
 */
export function parseClientAddress(text: string): ClientAddress | undefined {
  const v4 = parseDottedQuad(text, 0);
  if (v4 >= 0) return { v4: true, value: v4 };
  if (text.startsWith('::ffff:') && text.indexOf(':', 7) < 0) {
    const mapped = parseDottedQuad(text, 7);
    if (mapped >= 0) return { v4: true, value: mapped };
  }
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const addr = ipaddr.IPv6.parse(text);
  if (addr.isIPv4MappedAddress()) return { v4: true, value: v4Number(addr.toIPv4Address().octets) };
  return { v4: false, parts: addr.parts };
}

/** Strict `a.b.c.d` (decimal, no leading zeros) from `start` to the end → uint32, or -1. Hot path: no allocation. */
function parseDottedQuad(text: string, start: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

export function rangeContains(range: IpRange, addr: ClientAddress): boolean {
  if (range.v4) return addr.v4 && (addr.value & range.mask) >>> 0 === range.network;
  if (addr.v4) return false;
  let bits = range.bits;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if (((addr.parts[i] ?? 0) & mask) !== range.parts[i]) return false;
  }
  return true;
}

/** Every address in `narrow` is in `broad`. */
export function rangeCovers(broad: IpRange, narrow: IpRange): boolean {
  if (broad.v4 !== narrow.v4 || broad.bits > narrow.bits) return false;
  if (broad.v4 && narrow.v4) return rangeContains(broad, { v4: true, value: narrow.network });
  if (!broad.v4 && !narrow.v4) return rangeContains(broad, { v4: false, parts: narrow.parts });
  return false;
}

// -------------------------------------------------------------------------------------- subjects

export interface SubjectMatcher {
  readonly users: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
}

// ----------------------------------------------------------------------------------------- rules

export interface CompiledRule {
  /** Position in `access.rules`, for logs and `explain`. */
  readonly index: number;
  readonly policy: Policy;
  /** Undefined criterion = matches anything. */
  readonly hosts: HostMatcher | undefined;
  readonly paths: readonly PathMatcher[] | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly networks: readonly IpRange[] | undefined;
  /** Only on `authenticated` rules: who may pass once signed in. */
  readonly subjects: SubjectMatcher | undefined;
  readonly viewerWrite: boolean;
  /** One-line rendering, e.g. `rules[3]: hosts=[nvr.example.com] subjects=[role:admin] policy=authenticated`. */
  readonly text: string;
}

export interface CompiledAccess {
  /** Rules in order; the first whose criteria all match decides. */
  readonly rules: readonly CompiledRule[];
  /** Policy for targets no rule matches, applied only to hosts within `protectedDomain`. */
  readonly defaultPolicy: Policy;
  /** Canonical protected domain; a host outside it that no rule matches is forbidden. */
  readonly protectedDomain: string;
  /** Whether the `access` section was present in the configuration. */
  readonly configured: boolean;
  /**
   * Every configuration problem, with dotted paths. When non-empty the configuration must not be
   * used; decide() refuses everything rather than guess.
   */
  readonly problems: readonly string[];
  /** Rules that can never match because an earlier rule matches everything they would. */
  readonly shadowWarnings: readonly string[];
}

export interface RuleSource {
  hosts?: readonly string[] | undefined;
  paths?: readonly string[] | undefined;
  methods?: readonly string[] | undefined;
  networks?: readonly string[] | undefined;
  subjects?: readonly string[] | undefined;
  policy: Policy;
  viewer_write?: boolean | undefined;
}

/** `rules[3]: hosts=[nvr.example.com] methods=[GET] subjects=[role:admin,role:viewer] policy=authenticated` */
export function renderRule(index: number, rule: RuleSource): string {
  const parts = [`rules[${index}]:`];
  const list = (name: string, values: readonly string[] | undefined): void => {
    if (values !== undefined) parts.push(`${name}=[${values.join(',')}]`);
  };
  list('hosts', rule.hosts);
  list('paths', rule.paths);
  list('methods', rule.methods);
  list('networks', rule.networks);
  list('subjects', rule.subjects);
  if (rule.viewer_write === true) parts.push('viewer_write=true');
  parts.push(`policy=${rule.policy}`);
  return parts.join(' ');
}
