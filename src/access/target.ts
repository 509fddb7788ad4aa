/**
 * Canonicalisation of the request target (host, path, method) before any access rule sees it.
 *
 * This is the ONE place that turns what a proxy forwarded (nginx `$request_uri` is raw, Caddy's
 * `X-Forwarded-Uri` is raw, Traefik's is half-cleaned) into the form rules are matched against.
 * Every proxy flavour goes through the same function, so the three cannot disagree on what
 * `/share/%2e%2e/admin` means. Anything a backend could read two ways is refused ("not ok"),
 * and the decision turns a not-ok target into 403, never into a login or a bypass.
 *
 * The canonical path:
 * - starts with `/`; the query (`?…`) and fragment (`#…`) are cut off first, on the raw string;
 * - has percent-escapes of unreserved characters (`A-Za-z0-9-._~`) decoded, every other escape
 *   kept with upper-case hex (`%3f` → `%3F`), and characters that may not appear raw in a path
 *   (space, `"`, `<`, `>`, `[`, `]`, `^`, `` ` ``, `{`, `|`, `}`) percent-encoded, so two
 *   spellings of one path compare equal;
 * - has `.` and `..` segments resolved and `//` collapsed; a trailing `/` is kept;
 * - is compared case-sensitively: `/SHARE/x` is not `/share/x`.
 *
 * Refused as ambiguous: invalid escapes (`%zz`, `%4`), encoded `/` `\` NUL or control characters,
 * raw `\` or control characters, a `..` that climbs above `/`, a dot segment carrying `;`
 * parameters (`..;x`, `.;x`, `..%3B`: Tomcat and Jetty treat them as `..`/`.`), characters above
 * U+00FF, and anything that does not start with `/` (absolute-form `http://…` or `*`).
 *
 * `;` path parameters are otherwise literal characters of their segment: `/share;x/../admin` is
 * the segments `share;x`, `..`, `admin`, i.e. `/admin`; `/share;x/y` is NOT under `/share/**`.
 * Caveat for rule authors: a backend that strips `;…` (Tomcat, Spring) reads `/admin;x/y` as
 * `/admin/y`, which a path-restricted *deny* rule on `/admin/**` does not see; deny by host, or
 * end with a deny default, rather than relying on a path-restricted deny in front of such backends.
 *
 * Characters U+0080–U+00FF are taken as the raw bytes of the request target (Node decodes header
 * values and `req.url` as latin1), so raw UTF-8 `/ü` arrives as `/Ã¼` and is canonicalised to
 * `/%C3%BC`, the same as the percent-encoded spelling.
 */

import { domainToASCII } from 'node:url';
import ipaddr from '../net/ipaddr.js';
import { boundedMemo } from '../util/bounded-memo.js';

export type CanonicalTarget =
  | { ok: true; host: string; path: string; method: string }
  | { ok: false; reason: string };

export type CanonicalPart = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Canonicalise a forwarded request target.
 *
 * The returned host never carries a port: `:80` and `:443` are defaults, and any other port is
 * validated (1–65535) and then dropped, because rules match host names only. Two services on one
 * host told apart by port cannot be given different rules; put them on different host names.
 */
export function canonicaliseTarget(input: { host: string; rawPath: string; method: string }): CanonicalTarget {
  const host = canonicaliseRequestHost(input.host);
  if (!host.ok) return host;
  const path = canonicalisePath(input.rawPath);
  if (!path.ok) return path;
  const method = canonicaliseRequestMethod(input.method);
  if (!method.ok) return method;
  return { ok: true, host: host.value, path: path.value, method: method.value };
}

// ---------------------------------------------------------------------------------------- method

/** A handful of methods, asked about on every request: each spelling is canonicalised once. */
const canonicaliseRequestMethod = boundedMemo((method: string): CanonicalPart => Object.freeze(canonicaliseMethod(method)), 64);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** RFC 9110 token, upper-cased (`get` → `GET`). */
export function canonicaliseMethod(method: string): CanonicalPart {
  if (!TOKEN.test(method)) return { ok: false, reason: 'invalid method' };
  return { ok: true, value: method.toUpperCase() };
}

// ------------------------------------------------------------------------------------------ host

/** The hosts a proxy asks about are few and repeat on every request: each is canonicalised once. */
const canonicaliseRequestHost = boundedMemo((raw: string): CanonicalPart => Object.freeze(canonicaliseHost(raw)));

const DOTTED_QUAD = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const PORT = /^[0-9]{1,5}$/;

/**
 * Host (as in `Host` / `X-Forwarded-Host`) → lower-case ASCII name without port or trailing dot,
 * IDN as punycode (`bücher.example.com` → `xn--bcher-kva.example.com`), IPv4 as a strict dotted
 * quad, IPv6 as `[rfc5952]`. Refused: empty, several values (`a, b`), user-info, percent-escapes,
 * unbracketed IPv6, invalid ports, and IPv4 written in any other form (`0x7f.1`, `2130706433`),
 * which a browser would rewrite but a proxy's host routing would not.
 */
export function canonicaliseHost(raw: string): CanonicalPart {
  let name: string;
  let port: string | undefined;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0) return badHost();
    const inner = raw.slice(1, close);
    const rest = raw.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return badHost();
      port = rest.slice(1);
    }
    if (!validPort(port)) return badHost();
    // No zone identifiers (`%eth0`): they have no meaning in a Host header.
    if (inner.includes('%') || !ipaddr.IPv6.isValid(inner)) return badHost();
    return { ok: true, value: `[${ipaddr.IPv6.parse(inner).toRFC5952String()}]` };
  }
  const colon = raw.indexOf(':');
  if (colon >= 0) {
    if (raw.indexOf(':', colon + 1) >= 0) return badHost(); // unbracketed IPv6 or garbage
    name = raw.slice(0, colon);
    port = raw.slice(colon + 1);
    if (!validPort(port)) return badHost();
  } else {
    name = raw;
  }
  return canonicaliseHostName(name);
}

/** A host name without port (also used for rule hosts and the protected domain). */
export function canonicaliseHostName(raw: string): CanonicalPart {
  let name = raw.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  // The usual case, a plain LDH name, is checked in one pass; IDNA processing is the slow part.
  const plain = checkAsciiName(name);
  if (plain === NAME_OK) return { ok: true, value: name };
  if (plain === NAME_BAD) return badHost();
  if (plain === NAME_QUAD) return DOTTED_QUAD.test(name) ? { ok: true, value: name } : badHost();
  // Non-ASCII or `xn--`: let IDNA map and validate it. `%` is refused first because the WHATWG
  // host parser behind domainToASCII would percent-decode it.
  if (/[%@/\\\s,:]/.test(name)) return badHost();
  const ascii = domainToASCII(name);
  if (ascii === '') return badHost();
  // Whatever IDNA produced must itself be a plain name (this also refuses the IPv4 rewrites such
  // as `０x7f.1` → `127.0.0.1`: the dotted quad is only accepted when written as such).
  const check = checkAsciiName(ascii);
  return check === NAME_OK || check === NAME_IDNA ? { ok: true, value: ascii } : badHost();
}

const NAME_OK = 0;
const NAME_BAD = 1;
const NAME_QUAD = 2; // last label numeric: a dotted quad or nothing
const NAME_IDNA = 3; // non-ASCII or punycode: needs domainToASCII

/**
 * One pass over a lower-cased name: labels of `a-z 0-9 _ -`, 1–63 long, not starting or ending
 * with `-`, 253 in all. A numeric (or `0x…`) last label is an IPv4 attempt in WHATWG terms.
 */
function checkAsciiName(name: string): number {
  if (name.length === 0 || name.length > 253) return NAME_BAD;
  let labelStart = 0;
  let idna = false;
  for (let i = 0; i <= name.length; i++) {
    const c = i === name.length ? 0x2e : name.charCodeAt(i);
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return NAME_BAD;
      if (name.charCodeAt(labelStart) === 0x2d || name.charCodeAt(i - 1) === 0x2d) return NAME_BAD;
      if (len >= 4 && name.startsWith('xn--', labelStart)) idna = true;
      labelStart = i + 1;
      continue;
    }
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok) {
      if (c > 0x7f) idna = true;
      else return NAME_BAD;
    }
  }
  const last = name.slice(name.lastIndexOf('.') + 1);
  if (/^(?:[0-9]+|0x[0-9a-f]*)$/.test(last)) return NAME_QUAD;
  return idna ? NAME_IDNA : NAME_OK;
}

function validPort(port: string | undefined): boolean {
  if (port === undefined) return true;
  if (!PORT.test(port)) return false;
  const n = Number(port);
  return n >= 1 && n <= 65535;
}

function badHost(): { ok: false; reason: string } {
  return { ok: false, reason: 'invalid host' };
}

// ------------------------------------------------------------------------------------------ path

const AMBIGUOUS: { ok: false; reason: string } = Object.freeze({ ok: false, reason: 'ambiguous path' });

/**
 * Per ASCII code: 0 = refuse, 1 = keep raw, 2 = percent-encode.
 * Raw-allowed: unreserved, sub-delims `!$&'()*+,;=`, `:`, `@`, `/` (RFC 3986 pchar plus `/`).
 */
const CHAR_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (let c = 0x20; c < 0x7f; c++) table[c] = 2;
  const raw = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/";
  for (let i = 0; i < raw.length; i++) table[raw.charCodeAt(i)] = 1;
  table[0x5c] = 0; // `\`: Windows back-ends and some proxies treat it as `/`
  table[0x25] = 0; // `%`: handled separately
  return table;
})();

/** Bytes whose escape is decoded: the unreserved set. */
const UNRESERVED: Uint8Array = (() => {
  const table = new Uint8Array(128);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
})();

const HEX = '0123456789ABCDEF';

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

function escapeByte(byte: number): string {
  return '%' + HEX[byte >> 4] + HEX[byte & 15];
}

/**
 * Raw request-target path (query and fragment allowed, they are cut off) → canonical path.
 * See the module comment for the exact rules.
 */
export function canonicalisePath(rawPath: string): CanonicalPart {
  // Cut the query and fragment FIRST, on the raw string: `/share/x?/../../admin` is `/share/x`.
  let end = rawPath.length;
  const q = rawPath.indexOf('?');
  if (q >= 0) end = q;
  const h = rawPath.indexOf('#');
  if (h >= 0 && h < end) end = h;
  if (end === 0 || rawPath.charCodeAt(0) !== 0x2f) return AMBIGUOUS;

  // Pass 1: normalise the characters (decode unreserved escapes, upper-case the others).
  let text = '';
  let start = 0; // start of the pending run of characters copied verbatim
  for (let i = 0; i < end; i++) {
    const code = rawPath.charCodeAt(i);
    if (code === 0x25) {
      if (i + 2 >= end) return AMBIGUOUS;
      const hi = hexValue(rawPath.charCodeAt(i + 1));
      const lo = hexValue(rawPath.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return AMBIGUOUS;
      const byte = hi * 16 + lo;
      // Encoded `/`, `\`, NUL and control characters have no unambiguous reading.
      if (byte === 0x2f || byte === 0x5c || byte < 0x20 || byte === 0x7f) return AMBIGUOUS;
      text += rawPath.slice(start, i) + (byte < 0x80 && UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : escapeByte(byte));
      i += 2;
      start = i + 1;
      continue;
    }
    if (code < 0x80) {
      const cls = CHAR_CLASS[code];
      if (cls === 1) continue;
      if (cls === 0) return AMBIGUOUS; // control character or raw `\`
      text += rawPath.slice(start, i) + escapeByte(code);
      start = i + 1;
      continue;
    }
    if (code > 0xff) return AMBIGUOUS;
    text += rawPath.slice(start, i) + escapeByte(code);
    start = i + 1;
  }
  text += rawPath.slice(start, end);

  // Fast path: nothing to resolve.
  if (!text.includes('//') && !text.includes('/.')) return { ok: true, value: text };

  // Pass 2: resolve dot segments, collapse empty segments.
  const parts = text.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i] as string;
    const last = i === parts.length - 1;
    if (seg === '' || seg === '.') {
      trailingSlash = last;
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return AMBIGUOUS; // would climb above `/`
      out.pop();
      trailingSlash = last;
      continue;
    }
    if (isDotSegmentWithParameters(seg)) return AMBIGUOUS;
    out.push(seg);
    trailingSlash = false;
  }
  if (out.length === 0) return { ok: true, value: '/' };
  return { ok: true, value: '/' + out.join('/') + (trailingSlash ? '/' : '') };
}

/** `.;x`, `..;x`, `.%3Bx`, `..%3B`: read as a dot segment by back-ends that strip parameters. */
function isDotSegmentWithParameters(seg: string): boolean {
  if (seg.charCodeAt(0) !== 0x2e) return false;
  const rest = seg.charCodeAt(1) === 0x2e ? seg.slice(2) : seg.slice(1);
  return rest.startsWith(';') || rest.startsWith('%3B');
}
