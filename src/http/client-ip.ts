import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { boundedMemo } from '../util/bounded-memo.js';
import { parseIp } from './trusted-proxies.js';

/**
 * The one place that decides who the client is (login throttling, verify, logging). Headers are
 * read only when the TCP peer is a trusted proxy, and a forwarding chain is walked from the right,
 * past trusted hops, to the first address we did not configure: everything left of it was written
 * by the client and proves nothing.
 */

/** Which header a trusted peer states the client in; undefined means `x-forwarded-for`. */
export type ClientIpHeader = 'x-forwarded-for' | 'forwarded' | 'x-real-ip' | 'cf-connecting-ip' | undefined;

export interface ClientIpResolver {
  /** `peer` is `req.socket.remoteAddress`. `trustedPeer` says whether headers were consulted. */
  (peer: string, headers: IncomingHttpHeaders): { ip: string; trustedPeer: boolean };
}

export interface ClientIpOptions {
  /** From compileTrustedProxies(server.trusted_proxies). */
  isTrusted: (ip: string) => boolean;
  header: ClientIpHeader;
  /** Called with the offending entry when a trusted hop passed on something that is not an address. */
  onMalformed?: (entry: string) => void;
}

// What reading one hop can give besides an address.
const MALFORMED = 0;
const UNKNOWN = 1;
type Hop = string | typeof MALFORMED | typeof UNKNOWN;
type HeaderValue = string | readonly string[] | undefined;

const HEADERS: ReadonlySet<ClientIpHeader> = new Set(['x-forwarded-for', 'forwarded', 'x-real-ip', 'cf-connecting-ip', undefined]);

/** One hop as read, and whether it is one of ours (only an address can be). */
interface HopFacts {
  readonly hop: Hop;
  readonly trusted: boolean;
}

/** The TCP peer, parsed, and whether it is one of ours; undefined when it does not parse. */
interface PeerFacts {
  readonly ip: string;
  readonly trusted: boolean;
}

export function createClientIpResolver(opts: ClientIpOptions): ClientIpResolver {
  const { isTrusted, header, onMalformed } = opts;
  // Config validation checks the name; an unknown one must not quietly fall back to X-Forwarded-For.
  if (!HEADERS.has(header)) throw new Error(`client_ip_header '${String(header)}' is not one of: ${[...HEADERS].filter(Boolean).join(', ')}`);

  // The peer (the proxy) and the hops of a client's chain repeat on every request they make: each
  // address text is parsed and matched against the trusted proxies once (util/bounded-memo.ts).
  const peerFacts = boundedMemo((peer: string): PeerFacts | null => {
    const ip = parseIp(peer);
    return ip === undefined ? null : Object.freeze({ ip, trusted: isTrusted(ip) });
  });
  const hopFacts = (read: (entry: string) => Hop) =>
    boundedMemo((entry: string): HopFacts => {
      const hop = read(entry);
      return Object.freeze({ hop, trusted: typeof hop === 'string' && isTrusted(hop) });
    });
  const forwardedFor = hopFacts(readForwardedFor);
  const forwardedElement = hopFacts(readForwardedElement);

  /**
   * Walk comma-separated hops from the right. `last` is the nearest trusted address so far: the
   * client when every hop is trusted (the left-most one), or when the walk meets a hop that is
   * malformed or unknown and so cannot be followed further.
   */
  function walk(raw: HeaderValue, peer: string, read: (entry: string) => HopFacts): string {
    if (raw === undefined) return peer;
    let last = peer;
    const lines = typeof raw === 'string' ? 1 : raw.length;
    // Node joins repeated headers with ', '; a headersDistinct-style array keeps them apart.
    for (let line = lines - 1; line >= 0; line--) {
      const value = typeof raw === 'string' ? raw : raw[line]!;
      let end = value.length;
      for (;;) {
        const comma = end > 0 ? value.lastIndexOf(',', end - 1) : -1;
        const entry = value.slice(comma + 1, end).trim();
        const { hop, trusted } = read(entry);
        if (hop === MALFORMED) {
          onMalformed?.(entry);
          return last;
        }
        if (hop === UNKNOWN) return last;
        if (!trusted) return hop;
        last = hop;
        if (comma < 0) break;
        end = comma;
      }
    }
    return last;
  }

  /** X-Real-IP, CF-Connecting-IP: one address, set (not appended) by the trusted peer. */
  function single(raw: HeaderValue, peer: string): string {
    if (raw === undefined) return peer;
    let value: string;
    if (typeof raw === 'string') value = raw;
    else if (raw.length === 0) return peer;
    else value = raw.length === 1 ? raw[0]! : raw.join(', ');
    const ip = parseIp(value.trim());
    if (ip !== undefined) return ip;
    // Repeated lines join to 'a, b' and land here too: ambiguous, so the peer it is.
    onMalformed?.(value);
    return peer;
  }

  return function resolveClientIp(peer, headers) {
    const facts = peerFacts(peer);
    // An unparsable peer (a socket already gone) is nobody we trust; keep what we were given.
    if (facts === null) return { ip: peer, trustedPeer: false };
    const peerIp = facts.ip;
    if (!facts.trusted) return { ip: peerIp, trustedPeer: false };
    switch (header) {
      case 'x-real-ip':
      case 'cf-connecting-ip':
        return { ip: single(headers[header], peerIp), trustedPeer: true };
      case 'forwarded':
        return { ip: walk(headers.forwarded, peerIp, forwardedElement), trustedPeer: true };
      default:
        return { ip: walk(headers['x-forwarded-for'], peerIp, forwardedFor), trustedPeer: true };
    }
  };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const WHITESPACE = /\s/;
const PORT = /^(?:[0-9]{1,5}|_[A-Za-z0-9._-]+)$/;

function readForwardedFor(entry: string): Hop {
  return parseIp(entry) ?? MALFORMED;
}

/**
 * One RFC 7239 element: `for=192.0.2.60;proto=http;by=203.0.113.43`. Elements are split on every
 * comma and pairs on every semicolon, quotes or not: no legitimate value holds either, and a quote
 * left open by the client must not swallow the elements our proxies appended after it.
 * Quoting is not enforced (nginx's `for=$remote_addr` sends IPv6 bare); the node syntax is.
 */
function readForwardedElement(element: string): Hop {
  if (element === '') return MALFORMED;
  let node: string | undefined;
  let start = 0;
  for (;;) {
    const semicolon = element.indexOf(';', start);
    const end = semicolon < 0 ? element.length : semicolon;
    const pair = element.slice(start, end).trim();
    if (pair !== '') {
      const eq = pair.indexOf('=');
      if (eq <= 0 || !TOKEN.test(pair.slice(0, eq))) return MALFORMED;
      if (isFor(pair)) {
        if (node !== undefined) return MALFORMED; // a parameter may occur once per element
        node = unquote(pair.slice(4));
        if (node === undefined) return MALFORMED;
      }
    }
    if (semicolon < 0) break;
    start = semicolon + 1;
  }
  // An element without `for` says nothing about the hop before it.
  if (node === undefined) return UNKNOWN;
  return readNode(node);
}

function isFor(pair: string): boolean {
  return (
    pair.length > 3 &&
    (pair.charCodeAt(0) | 0x20) === 0x66 && // f
    (pair.charCodeAt(1) | 0x20) === 0x6f && // o
    (pair.charCodeAt(2) | 0x20) === 0x72 && // r
    pair.charCodeAt(3) === 0x3d // =
  );
}

/** A token or a quoted-string without escapes (no address needs one); undefined when neither. */
function unquote(value: string): string | undefined {
  if (value.startsWith('"')) {
    if (value.length < 2 || !value.endsWith('"')) return undefined;
    value = value.slice(1, -1);
  }
  if (value === '' || value.includes('"') || value.includes('\\') || WHITESPACE.test(value)) return undefined;
  return value;
}


/** node = nodename [ ":" node-port ]; nodename = IPv4 / "[" IPv6 "]" / "unknown" / obfnode. */
function readNode(node: string): Hop {
  if (node.length === 7 && node.toLowerCase() === 'unknown') return UNKNOWN;
  // Obfuscated identifiers hide the hop on purpose; the chain cannot be followed past it.
  if (node.startsWith('_')) return UNKNOWN;
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    if (close < 0) return MALFORMED;
    const inner = node.slice(1, close);
    const rest = node.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1)))) return MALFORMED;
    if (!isIPv6(inner)) return MALFORMED;
    return parseIp(inner) ?? MALFORMED;
  }
  const colon = node.indexOf(':');
  if (colon < 0) return parseIp(node) ?? MALFORMED;
  // More than one colon: a bare IPv6 address, which cannot carry a port.
  if (node.indexOf(':', colon + 1) >= 0) return isIPv6(node) ? (parseIp(node) ?? MALFORMED) : MALFORMED;
  const host = node.slice(0, colon);
  if (!isIPv4(host) || !PORT.test(node.slice(colon + 1))) return MALFORMED;
  return host;
}
