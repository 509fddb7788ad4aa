/**
 * A Traefik test double: "entrypoint → router (by Host) → forwardAuth middlewares → reverse proxy",
 * written from ../shared/reference/proxy-contracts.md §2 (the algorithm of §2.6, the tables of
 * §2.3 and §2.4). Traefik cannot be installed here, so Postern's Traefik tests run against this.
 *
 * Releases it follows (`TraefikDoubleOptions.release`): Traefik v3.6.24 (the default; the release
 * deploy/compose.traefik.yml pins) and v3.7.9. Both have the tri-state trustForwardHeader (v3.6.14),
 * underscore aliases of the managed X-headers deleted, the X-Forwarded-Port fix (v3.6.22 / v3.7.6),
 * underscoreHeadersStrategy (v3.6.22 / v3.7.6) and the CONNECT-body discard (v3.6.24 / v3.7.9);
 * `authSigninURL` exists from v3.7.0 only, so a v3.6.24 double refuses a config that uses it.
 * Beyond the reference's §2.6: a `Location` is resolved with Go's net/url (./go-url.ts), Go's
 * default User-Agent goes out where Go's client adds it, and a `headers` middleware
 * (customRequestHeaders) may precede forwardAuth.
 * The functions below are named after the numbered steps of §2.6; the contract tests in
 * test/contract/traefik-double.test.ts have one `describe` per step.
 *
 * Everything is real HTTP on loopback: node:http server, node:http client requests with exact header
 * names (Go canonical form), no fetch.
 */
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type Socket } from 'node:net';
import os from 'node:os';
import { pipeline, type Duplex, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { goReparse, goResolveLocation } from './go-url.js';

// ---------------------------------------------------------------------------------------------
// Configuration (§2.6 `EmuConfig`, plus the routed form that mirrors a Traefik dynamic config)
// ---------------------------------------------------------------------------------------------

export type UnderscoreHeadersStrategy = 'keep' | 'delete' | 'reject';

/** Static entrypoint settings: `entryPoints.<name>.forwardedHeaders` and `.http`. */
export interface EntryPointConfig {
  /** `forwardedHeaders.trustedIPs`: CIDRs or single IPs whose X-Forwarded-* headers are kept. */
  trustedCidrs: string[];
  /** `forwardedHeaders.insecure`: trust every peer. Default false. */
  insecure?: boolean;
  /** `http.sanitizePath`: resolve `.`/`..` and collapse `//`. Default true. */
  sanitizePath?: boolean;
  /** Value of `X-Forwarded-Server` (Traefik: `os.Hostname()`). Default `os.hostname()`; `''` sends none. */
  hostname?: string;
  /** `http.underscoreHeadersStrategy`. Default `keep`. */
  underscoreHeaders?: UnderscoreHeadersStrategy;
}

/** §2.6, field for field. Option names are Traefik's own (`http.middlewares.<name>.forwardAuth.*`). */
export interface EmuConfig {
  /** Auth URL, used verbatim (its own path and query; the client's are not added). */
  address: string;
  /** `undefined` = the legacy code path (`oldWriteHeader`); `true`/`false` = the v3.6.14+ `writeHeader`. */
  trustForwardHeader?: boolean;
  /** Exact names (canonicalised); the client's copy is always deleted, then the reply's values copied. */
  authResponseHeaders?: string[];
  /** Unanchored; JS RegExp standing in for Go RE2. Matched against canonical header names. */
  authResponseHeadersRegex?: string;
  /** Allowlist of request headers sent to the auth server (case-insensitive). Empty = all. */
  authRequestHeaders?: string[];
  /** Cookie names copied from a 2xx auth reply onto the backend response (v3.0+). */
  addAuthCookiesToResponse?: string[];
  /** Send the client body to the auth server (v3.3+). */
  forwardBody?: boolean;
  /** Limit for `forwardBody`; a larger body gives 401. Default -1 (unlimited). */
  maxBodySize?: number;
  /** Limit on the auth reply body; a larger one gives 401. Default -1 (unlimited). */
  maxResponseBodySize?: number;
  /** Keep the auth reply's `Location` as sent instead of resolving it against `address`. */
  preserveLocationHeader?: boolean;
  /** Use the client's method for the auth request instead of GET (v3.4+). */
  preserveRequestMethod?: boolean;
  /** An auth 401 becomes `302 Location: authSigninURL` (v3.7+). */
  authSigninURL?: string;
  entry: EntryPointConfig;
  /** Backend base URL (`loadBalancer.servers[0].url`). Its path is ignored, as in Traefik. */
  upstream: string;
}

/** One `http.middlewares.<name>.forwardAuth` block. */
export type ForwardAuthConfig = Omit<EmuConfig, 'entry' | 'upstream'>;

/**
 * One `http.middlewares.<name>.headers` block; the double has `customRequestHeaders` only: each
 * header is set on the request (replacing the client's copy), or deleted when its value is ''
 * (Traefik `pkg/middlewares/headers`, `modifyCustomRequestHeaders`).
 */
export interface HeadersMiddlewareConfig {
  customRequestHeaders?: Record<string, string>;
}

/** One entry of a router's middleware chain: a forwardAuth, or a headers middleware. */
export type MiddlewareConfig =
  | { /** `http.middlewares.<name>`: informational. */ name?: string; forwardAuth: ForwardAuthConfig; headers?: never }
  | { name?: string; headers: HeadersMiddlewareConfig; forwardAuth?: never };

/** One `http.routers.<name>`. */
export interface RouterConfig {
  /** `http.routers.<name>`. */
  name?: string;
  /** ``Host(`app.example.com`)``: case-insensitive, port ignored. Omitted = every host, tried last. */
  rule?: { host: string };
  /** `middlewares`, in chain order. */
  middlewares?: MiddlewareConfig[];
  /** The service's `loadBalancer.servers[0].url`. */
  service: string;
}

/** A dynamic config: routers chosen by Host, each with its middleware chain and service. */
export interface RoutedConfig {
  entry: EntryPointConfig;
  routers: RouterConfig[];
}

/** The Traefik releases the double follows; see the file's opening comment. */
export type TraefikRelease = 'v3.6.24' | 'v3.7.9';

export interface TraefikDoubleOptions {
  /** Which release to behave as. Default `v3.6.24`. */
  release?: TraefikRelease;
  /** Listening port on 127.0.0.1. Default: a free port chosen by the OS. */
  port?: number;
  /** Deadline of the whole auth exchange (Traefik: a fixed 30 s `http.Client.Timeout`). */
  authTimeoutMs?: number;
}

/** What Traefik's access log would say about one client request. */
export interface AccessLogEntry {
  method: string;
  /** The request-target as the client sent it. */
  target: string;
  host: string;
  /** Router name, if the request was routed. */
  router?: string;
  /** Status sent, or 499 when the client went away first. */
  status: number;
}

export interface TraefikDouble {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly accessLog: readonly AccessLogEntry[];
  close(): Promise<void>;
}

const DEFAULT_AUTH_TIMEOUT_MS = 30_000;
const GO_USER_AGENT = 'Go-http-client/1.1';

// ---------------------------------------------------------------------------------------------
// Go's http.Header: canonical names, several values per name
// ---------------------------------------------------------------------------------------------

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Go's `http.CanonicalHeaderKey`: upper-case the first letter and each letter after `-`, lower-case the
 * rest. `_` is a token character, so `x_forwarded_for` becomes `X_forwarded_for`. Names that are not
 * tokens are returned unchanged.
 */
function canonicalHeaderKey(name: string): string {
  if (!TOKEN.test(name)) return name;
  let out = '';
  let upper = true;
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
}

/** Go's `http.Header`: canonical name → values. Every method canonicalises the name it is given. */
class GoHeader {
  readonly #map = new Map<string, string[]>();

  /** From Node's `rawHeaders` (name, value, name, value, ...): repeated lines become several values. */
  static fromRawHeaders(raw: readonly string[]): GoHeader {
    const h = new GoHeader();
    for (let i = 0; i + 1 < raw.length; i += 2) h.add(raw[i]!, raw[i + 1]!);
    return h;
  }

  /** First value, or '' (Go's `Header.Get`). */
  get(name: string): string {
    return this.#map.get(canonicalHeaderKey(name))?.[0] ?? '';
  }

  /** All values (a copy); [] when absent. */
  values(name: string): string[] {
    return [...(this.#map.get(canonicalHeaderKey(name)) ?? [])];
  }

  /** Whether the key is present at all (Go's `_, ok := h[key]`). */
  has(name: string): boolean {
    return this.#map.has(canonicalHeaderKey(name));
  }

  set(name: string, value: string | readonly string[]): void {
    this.#map.set(canonicalHeaderKey(name), typeof value === 'string' ? [value] : [...value]);
  }

  add(name: string, value: string): void {
    const key = canonicalHeaderKey(name);
    const values = this.#map.get(key);
    if (values) values.push(value);
    else this.#map.set(key, [value]);
  }

  del(name: string): void {
    this.#map.delete(canonicalHeaderKey(name));
  }

  keys(): string[] {
    return [...this.#map.keys()];
  }

  clone(): GoHeader {
    const h = new GoHeader();
    for (const [k, v] of this.#map) h.#map.set(k, [...v]);
    return h;
  }

  /** One [name, value] per line, keys sorted as Go writes them (`Header.WriteSubset`). */
  lines(exclude: ReadonlySet<string> = new Set()): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const key of this.keys().sort()) {
      if (exclude.has(key)) continue;
      for (const value of this.#map.get(key)!) out.push([key, value]);
    }
    return out;
  }
}

/** golang.org/x/net/http/httpguts `HeaderValuesContainsToken`. */
function headerValuesContainsToken(values: readonly string[], token: string): boolean {
  const want = token.toLowerCase();
  return values.some((v) => v.split(',').some((t) => t.trim().toLowerCase() === want));
}

/** Headers Go's `Request.Write` takes from elsewhere than the header map (`reqWriteExcludeHeader`). */
const REQUEST_WRITE_EXCLUDE = new Set(['Host', 'User-Agent', 'Content-Length', 'Transfer-Encoding', 'Trailer']);

/** §2.2 step 5 / §2.6 step 4: the X-headers the entrypoint manages. */
const MANAGED_X_HEADERS: readonly string[] = [
  'X-Forwarded-Proto',
  'X-Forwarded-For',
  'X-Forwarded-Host',
  'X-Forwarded-Port',
  'X-Forwarded-Server',
  'X-Forwarded-Uri',
  'X-Forwarded-Method',
  'X-Forwarded-Prefix',
  'X-Forwarded-Tls-Client-Cert',
  'X-Forwarded-Tls-Client-Cert-Info',
  'X-Real-Ip',
];
const MANAGED_SET = new Set(MANAGED_X_HEADERS);

/** A managed X-header, or an alias of one with `_` for `-` (`X_Forwarded_For`). */
function isManagedXHeader(name: string): boolean {
  return MANAGED_SET.has(canonicalHeaderKey(name.replaceAll('_', '-')));
}

/** forwardAuth's own hop-by-hop list (`forward.go` `hopHeaders`): Proxy-Authorization is kept. */
const FORWARD_AUTH_HOP_HEADERS = ['Connection', 'Keep-Alive', 'Te', 'Trailers', 'Transfer-Encoding', 'Upgrade'];

/** Go `httputil.ReverseProxy`'s hop-by-hop list (note `Trailer`, not `Trailers`). */
const REVERSE_PROXY_HOP_HEADERS = [
  'Connection',
  'Proxy-Connection',
  'Keep-Alive',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'Te',
  'Trailer',
  'Transfer-Encoding',
  'Upgrade',
];

// ---------------------------------------------------------------------------------------------
// Go net/url path helpers (escaping in "path" mode, path.Clean, URL.JoinPath)
// ---------------------------------------------------------------------------------------------

/** net/url `shouldEscape(c, encodePath)`. */
function shouldEscapeInPath(code: number): boolean {
  const c = String.fromCharCode(code);
  if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)) return false;
  return true;
}

/** net/url `validEncoded(s, encodePath)`: can this raw path be sent as is? */
function validEncodedPath(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if ("!$&'()*+,;=:@[]%".includes(c)) continue;
    if (shouldEscapeInPath(s.charCodeAt(i))) return false;
  }
  return true;
}

/** Decodes every valid `%XX` into the byte it names (strings here are latin1: one char per byte). */
function unescapePath(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Percent-encodes what a path may not carry, byte by byte (latin1 strings are bytes already). */
function escapePath(s: string): string {
  const bytes = /[^\x00-\xff]/.test(s) ? Buffer.from(s, 'utf8') : Buffer.from(s, 'latin1');
  let out = '';
  for (const b of bytes) out += shouldEscapeInPath(b) ? '%' + b.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(b);
  return out;
}

/** `URL.EscapedPath()` for a URL whose RawPath is `raw`. */
function escapedPath(raw: string): string {
  return validEncodedPath(raw) ? raw : escapePath(unescapePath(raw));
}

/** Go `path.Clean`. */
function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go `URL.JoinPath()` with no elements, applied to an escaped path: cleans it, keeps one trailing `/`. */
function joinPath(escaped: string): string {
  let p = escaped.startsWith('/') ? cleanPath(escaped) : cleanPath('/' + escaped).slice(1);
  if (escaped.endsWith('/') && !p.endsWith('/')) p += '/';
  return p;
}

/** Go `net.SplitHostPort`, returning undefined where Go returns an error. */
function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0 || hostport[end + 1] !== ':') return undefined;
    return { host: hostport.slice(1, end), port: hostport.slice(end + 2) };
  }
  const i = hostport.lastIndexOf(':');
  if (i < 0 || hostport.indexOf(':') !== i) return undefined;
  return { host: hostport.slice(0, i), port: hostport.slice(i + 1) };
}

/** An absolute http(s) URL taken apart without normalising it (Go's url.Parse keeps it as written). */
interface RawUrl {
  protocol: 'http:' | 'https:';
  /** host[:port] as written, without userinfo: Go's `URL.Host`, hence the Host header. */
  authority: string;
  hostname: string;
  port: number;
  /** `URL.RequestURI()`: escaped path (or `/`) plus `?query` when there is one. */
  requestURI: string;
}

function parseRawUrl(raw: string): RawUrl | undefined {
  const m = /^(https?):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(raw);
  if (!m) return undefined;
  const protocol = m[1]!.toLowerCase() === 'https' ? 'https:' : 'http:';
  const authority = m[2]!.slice(m[2]!.lastIndexOf('@') + 1);
  if (authority === '') return undefined;
  const path = m[3]!;
  if (/%(?![0-9A-Fa-f]{2})/.test(path) || /[\x00-\x20\x7f]/.test(raw)) return undefined;
  const hp = splitHostPort(authority);
  const hostname = hp ? hp.host : authority.replace(/^\[(.*)\]$/, '$1');
  const port = hp && hp.port !== '' ? Number(hp.port) : protocol === 'https:' ? 443 : 80;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const query = m[4] ?? '';
  return { protocol, authority, hostname, port, requestURI: (path === '' ? '/' : escapedPath(path)) + query };
}

// ---------------------------------------------------------------------------------------------
// Go's http.Cookie: readSetCookies / Cookie.String (Go 1.23+)
// ---------------------------------------------------------------------------------------------

interface GoCookie {
  name: string;
  value: string;
  quoted: boolean;
  path: string;
  domain: string;
  expires: Date | undefined;
  /** Go's MaxAge: 0 = unset, < 0 = "Max-Age=0". */
  maxAge: number;
  secure: boolean;
  httpOnly: boolean;
  sameSite: '' | 'Lax' | 'Strict' | 'None';
  partitioned: boolean;
}

const validCookieValueByte = (c: number): boolean => c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x3b && c !== 0x5c;

function parseCookieValue(raw: string, allowDoubleQuote: boolean): { value: string; quoted: boolean } | undefined {
  let value = raw;
  let quoted = false;
  if (allowDoubleQuote && value.length > 1 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1);
    quoted = true;
  }
  for (let i = 0; i < value.length; i++) if (!validCookieValueByte(value.charCodeAt(i))) return undefined;
  return { value, quoted };
}

const trimGo = (s: string): string => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const RFC1123 = /^([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) [A-Z]{3,5}$/;
const RFC1123_DASHED = /^([A-Za-z]{3}), (\d{2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) [A-Z]{3,5}$/;

/** time.Parse with `time.RFC1123`, then `Mon, 02-Jan-2006 15:04:05 MST` (zone abbreviations read as UTC). */
function parseCookieExpires(val: string): Date | undefined {
  const m = RFC1123.exec(val) ?? RFC1123_DASHED.exec(val);
  if (!m || !DAYS.includes(m[1]!.toLowerCase())) return undefined;
  const month = MONTHS.indexOf(m[3]!.toLowerCase());
  const [day, year, hh, mm, ss] = [m[2], m[4], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number];
  if (month < 0 || hh > 23 || mm > 59 || ss > 59) return undefined;
  const t = new Date(Date.UTC(year, month, day, hh, mm, ss));
  return t.getUTCDate() === day ? t : undefined;
}

/** Go `http.ParseSetCookie`; undefined where Go returns an error (the cookie is then dropped). */
function parseSetCookie(line: string): GoCookie | undefined {
  const parts = trimGo(line).split(';');
  if (parts.length === 1 && parts[0] === '') return undefined;
  const first = trimGo(parts[0]!);
  const eq = first.indexOf('=');
  if (eq < 0) return undefined;
  const name = trimGo(first.slice(0, eq));
  if (!TOKEN.test(name)) return undefined;
  const parsedValue = parseCookieValue(first.slice(eq + 1), true);
  if (!parsedValue) return undefined;
  const c: GoCookie = {
    name,
    value: parsedValue.value,
    quoted: parsedValue.quoted,
    path: '',
    domain: '',
    expires: undefined,
    maxAge: 0,
    secure: false,
    httpOnly: false,
    sameSite: '',
    partitioned: false,
  };
  for (const rawPart of parts.slice(1)) {
    const part = trimGo(rawPart);
    if (part === '') continue;
    const i = part.indexOf('=');
    const attr = i < 0 ? part : part.slice(0, i);
    if (/[^\x00-\x7f]/.test(attr)) continue;
    const parsedAttr = parseCookieValue(i < 0 ? '' : part.slice(i + 1), false);
    if (!parsedAttr) continue; // Go: kept in Unparsed, which String() never writes
    const val = parsedAttr.value;
    switch (attr.toLowerCase()) {
      case 'samesite': {
        const v = val.toLowerCase();
        c.sameSite = v === 'lax' ? 'Lax' : v === 'strict' ? 'Strict' : v === 'none' ? 'None' : '';
        break;
      }
      case 'secure':
        c.secure = true;
        break;
      case 'httponly':
        c.httpOnly = true;
        break;
      case 'domain':
        c.domain = val;
        break;
      case 'max-age': {
        if (!/^[+-]?\d+$/.test(val)) break;
        let secs = Number(val);
        if (!Number.isSafeInteger(secs) || (secs !== 0 && val.startsWith('0'))) break;
        if (secs <= 0) secs = -1;
        c.maxAge = secs;
        break;
      }
      case 'expires':
        c.expires = parseCookieExpires(val);
        break;
      case 'path':
        c.path = val;
        break;
      case 'partitioned':
        c.partitioned = true;
        break;
      default:
        break; // unknown attribute: lost on re-serialisation
    }
  }
  return c;
}

/** Go `isCookieDomainName` / `validCookieDomain`. */
function validCookieDomain(d: string): boolean {
  if (isIP(d) === 4) return true;
  let s = d;
  if (s.length === 0 || s.length > 255) return false;
  if (s.startsWith('.')) s = s.slice(1);
  let last = '.';
  let ok = false;
  let partlen = 0;
  for (const c of s) {
    if (/[A-Za-z]/.test(c)) {
      ok = true;
      partlen++;
    } else if (/[0-9]/.test(c)) {
      partlen++;
    } else if (c === '-') {
      if (last === '.') return false;
      partlen++;
    } else if (c === '.') {
      if (last === '.' || last === '-' || partlen > 63 || partlen === 0) return false;
      partlen = 0;
    } else {
      return false;
    }
    last = c;
  }
  return last !== '-' && partlen <= 63 && ok;
}

/** Go `(*http.Cookie).String()`. */
function cookieString(c: GoCookie): string {
  let value = '';
  for (const ch of c.value) if (validCookieValueByte(ch.charCodeAt(0))) value += ch;
  if (value !== '' && (/[ ,]/.test(value) || c.quoted)) value = `"${value}"`;
  let out = `${c.name}=${value}`;
  if (c.path !== '') out += '; Path=' + [...c.path].filter((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) < 0x7f && ch !== ';').join('');
  if (c.domain !== '' && validCookieDomain(c.domain)) out += '; Domain=' + (c.domain.startsWith('.') ? c.domain.slice(1) : c.domain);
  if (c.expires && c.expires.getUTCFullYear() >= 1601) out += '; Expires=' + c.expires.toUTCString();
  if (c.maxAge > 0) out += `; Max-Age=${c.maxAge}`;
  else if (c.maxAge < 0) out += '; Max-Age=0';
  if (c.httpOnly) out += '; HttpOnly';
  if (c.secure) out += '; Secure';
  if (c.sameSite !== '') out += `; SameSite=${c.sameSite}`;
  if (c.partitioned) out += '; Partitioned';
  return out;
}

function readSetCookies(h: GoHeader): GoCookie[] {
  return h.values('Set-Cookie').flatMap((line) => parseSetCookie(line) ?? []);
}

// ---------------------------------------------------------------------------------------------
// The request as it travels through the pipeline, and the reply that comes back
// ---------------------------------------------------------------------------------------------

interface EmuRequest {
  method: string;
  /** Go's `req.Host`. */
  host: string;
  headers: GoHeader;
  /** `req.URL.RequestURI()` after §2.6 step 2. */
  requestURI: string;
  peerIP: string;
  /** Go's `req.ContentLength`: -1 when chunked. */
  contentLength: number;
  chunked: boolean;
  /** The client body, or its buffered copy once forwardBody has read it. */
  body: Readable | Buffer;
  upgrade?: { socket: Duplex; head: Buffer };
  signal: AbortSignal;
}

interface Reply {
  status: number;
  headers: GoHeader;
  body: Buffer | Readable;
  /** A 101 from the backend: the bytes after its head, and its socket, to be spliced with the client's. */
  tunnel?: { socket: Duplex; head: Buffer };
}

type Handler = (req: EmuRequest) => Promise<Reply>;

const EMPTY = Buffer.alloc(0);

function emptyReply(status: number): Reply {
  return { status, headers: new GoHeader(), body: EMPTY };
}

/** 499: what Traefik logs when the client went away (nobody reads it). */
const CLIENT_CLOSED_REQUEST = 499;

// ---------------------------------------------------------------------------------------------
// Step 1: parse the request-target; '#' in the path → 400; underscore-header strategy
// ---------------------------------------------------------------------------------------------

interface ParsedTarget {
  rawPath: string;
  rawQuery: string;
  /** The target ended in a lone `?` (Go's `URL.ForceQuery`). */
  forceQuery: boolean;
  /** Host of an absolute-form target, which Go prefers over the Host header. */
  authorityHost?: string;
}

/** Step 1. Origin-form and absolute-form only; anything else is answered 400 by the double. */
function parseRequestTarget(target: string): ParsedTarget | undefined {
  let rest = target;
  let authorityHost: string | undefined;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?]*)(.*)$/s.exec(target);
  if (absolute) {
    authorityHost = absolute[1]!.slice(absolute[1]!.lastIndexOf('@') + 1);
    rest = absolute[2]!;
    if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return undefined;
  } else if (!target.startsWith('/')) {
    return undefined;
  }
  const q = rest.indexOf('?');
  const parsed: ParsedTarget =
    q < 0
      ? { rawPath: rest, rawQuery: '', forceQuery: false }
      : { rawPath: rest.slice(0, q), rawQuery: rest.slice(q + 1), forceQuery: q === rest.length - 1 };
  if (authorityHost !== undefined) parsed.authorityHost = authorityHost;
  return parsed;
}

/** Step 1: `delete` drops every header whose name contains `_`; `reject` answers 400. */
function applyUnderscoreStrategy(strategy: UnderscoreHeadersStrategy, headers: GoHeader): 'ok' | 'reject' {
  if (strategy === 'keep') return 'ok';
  const underscored = headers.keys().filter((k) => k.includes('_'));
  if (strategy === 'reject') return underscored.length > 0 ? 'reject' : 'ok';
  for (const k of underscored) headers.del(k);
  return 'ok';
}

// ---------------------------------------------------------------------------------------------
// Step 2: normalise the path (normalizePath, then sanitizePath)
// ---------------------------------------------------------------------------------------------

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Step 2: `%XX` naming an unreserved character becomes that character, every other `%xx` is
 * upper-cased; then (unless `sanitizePath === false`) dot-segments are resolved and `//` collapsed,
 * keeping a trailing `/`. Returns the request-URI, or undefined for an invalid `%` escape (Go's HTTP
 * server answers those 400 before any handler runs).
 */
function normalizeRequestURI(target: ParsedTarget, sanitizePath: boolean): string | undefined {
  let normalized = '';
  const raw = target.rawPath;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '%') {
      normalized += c;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const decoded = String.fromCharCode(parseInt(hex, 16));
    normalized += UNRESERVED.test(decoded) ? decoded : '%' + hex.toUpperCase();
    i += 2;
  }
  let path = escapedPath(normalized);
  if (sanitizePath) path = joinPath(path);
  if (path === '') path = '/';
  const query = target.rawQuery !== '' || target.forceQuery ? '?' + target.rawQuery : '';
  return path + query;
}

// ---------------------------------------------------------------------------------------------
// Step 4: entrypoint X-headers (forwardedheaders.XForwarded)
// ---------------------------------------------------------------------------------------------

interface CompiledEntry {
  insecure: boolean;
  trusted: BlockList;
  sanitizePath: boolean;
  hostname: string;
  underscoreHeaders: UnderscoreHeadersStrategy;
}

function isTrustedPeer(entry: CompiledEntry, ip: string): boolean {
  if (entry.insecure) return true;
  const family = isIP(ip);
  return family !== 0 && entry.trusted.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** `Connection: upgrade` and `Upgrade: websocket`, each read from its first line as Traefik does. */
function isWebsocketRequest(h: GoHeader): boolean {
  const has = (name: string, token: string) =>
    h
      .get(name)
      .split(',')
      .some((t) => t.trim().toLowerCase() === token);
  return has('Connection', 'upgrade') && has('Upgrade', 'websocket');
}

/** Port of `Host`, else 443 for https/wss, else 80 (the double serves plain HTTP only). */
function forwardedPort(host: string, proto: string): string {
  const hp = splitHostPort(host);
  if (hp && hp.port !== '') return hp.port;
  return proto === 'https' || proto === 'wss' ? '443' : '80';
}

/**
 * Step 4. Untrusted peer: delete the managed X-headers and their underscore aliases. Then set the
 * missing ones, join several X-Forwarded-For lines, always set X-Forwarded-Server, and drop the
 * headers named in `Connection` except the managed ones.
 */
function applyEntrypointHeaders(entry: CompiledEntry, req: EmuRequest): void {
  const h = req.headers;
  if (!isTrustedPeer(entry, req.peerIP)) for (const key of h.keys()) if (isManagedXHeader(key)) h.del(key);

  if (h.get('X-Real-Ip') === '') h.set('X-Real-Ip', req.peerIP);
  if (h.get('X-Forwarded-Proto') === '') h.set('X-Forwarded-Proto', isWebsocketRequest(h) ? 'ws' : 'http');
  if (h.get('X-Forwarded-Port') === '') h.set('X-Forwarded-Port', forwardedPort(req.host, h.get('X-Forwarded-Proto')));
  if (h.get('X-Forwarded-Host') === '' && req.host !== '') h.set('X-Forwarded-Host', req.host);
  const xffs = h.values('X-Forwarded-For');
  if (xffs.length > 0) h.set('X-Forwarded-For', xffs.join(', '));
  if (entry.hostname !== '') h.set('X-Forwarded-Server', entry.hostname);

  // CVE-2024-45410: `Connection: X-Forwarded-Host` must not remove what the entrypoint just set.
  const upgradeType = headerValuesContainsToken(h.values('Connection'), 'upgrade') ? h.get('Upgrade') : '';
  for (const line of h.values('Connection')) {
    for (const token of line.split(',')) {
      const name = token.trim();
      if (name === '' || isManagedXHeader(name)) continue;
      h.del(name);
    }
  }
  if (upgradeType !== '') {
    h.set('Upgrade', upgradeType);
    h.set('Connection', 'Upgrade');
  } else {
    h.del('Connection');
  }
}

// ---------------------------------------------------------------------------------------------
// Steps 5–7: the forwardAuth middleware
// ---------------------------------------------------------------------------------------------

interface CompiledForwardAuth {
  address: RawUrl;
  addressHref: string;
  trust: boolean | undefined;
  responseHeaders: string[];
  responseHeadersRegex: RegExp | undefined;
  requestHeaders: string[];
  authCookieNames: ReadonlySet<string>;
  forwardBody: boolean;
  maxBodySize: number;
  maxResponseBodySize: number;
  preserveLocationHeader: boolean;
  preserveRequestMethod: boolean;
  authSigninURL: string;
  timeoutMs: number;
}

/** forwardAuth's `RemoveConnectionHeaders` (connectionheader.go). */
function removeConnectionHeaders(h: GoHeader): void {
  const upgradeType = headerValuesContainsToken(h.values('Connection'), 'upgrade') ? h.get('Upgrade') : '';
  for (const line of h.values('Connection')) {
    for (const token of line.split(',')) {
      const name = token.trim();
      if (name !== '') h.del(name);
    }
  }
  if (upgradeType !== '') {
    h.set('Connection', 'Upgrade');
    h.set('Upgrade', upgradeType);
  } else {
    h.del('Connection');
  }
}

/** `filterForwardRequestHeaders`: keep only the listed names (case-insensitive); empty list = all. */
function filterRequestHeaders(h: GoHeader, allowed: readonly string[]): GoHeader {
  if (allowed.length === 0) return h;
  const out = new GoHeader();
  for (const name of allowed) {
    const values = h.values(name);
    if (values.length > 0) out.set(name, values);
  }
  return out;
}

/** The auth request's header map, per §2.3 (copy, hop-by-hop, trust mode, allowlist, final X-Forwarded-*). */
function buildAuthRequestHeaders(
  fa: Pick<CompiledForwardAuth, 'trust' | 'requestHeaders'>,
  req: Pick<EmuRequest, 'headers' | 'method' | 'host' | 'requestURI' | 'peerIP'>,
): GoHeader {
  const copy = req.headers.clone();
  // 1 and 2: the headers named in Connection, then forwardAuth's hop-by-hop list.
  removeConnectionHeaders(copy);
  for (const name of FORWARD_AUTH_HOP_HEADERS) copy.del(name);

  if (fa.trust === undefined) {
    // Legacy `oldWriteHeader`: the five computed headers are overwritten, the rest copied as is.
    const h = filterRequestHeaders(copy, fa.requestHeaders);
    h.set('X-Forwarded-For', req.peerIP);
    h.set('X-Forwarded-Proto', 'http');
    h.set('X-Forwarded-Method', req.method);
    h.set('X-Forwarded-Host', req.host);
    h.set('X-Forwarded-Uri', req.requestURI);
    return h;
  }

  // 3: explicit false trusts nothing the request carries.
  if (!fa.trust) for (const key of copy.keys()) if (isManagedXHeader(key)) copy.del(key);
  // v3.6.9+: an empty User-Agent keeps Go's default one off the wire.
  if (!req.headers.has('User-Agent')) copy.set('User-Agent', '');
  // 4: with explicit true, the managed names always pass the allowlist.
  const allowed = fa.trust && fa.requestHeaders.length > 0 ? [...fa.requestHeaders, ...MANAGED_X_HEADERS] : fa.requestHeaders;
  const h = filterRequestHeaders(copy, allowed);
  // 5: final values; each one that survived the steps above is kept.
  const prior = h.has('X-Forwarded-For') ? h.values('X-Forwarded-For').join(', ') + ', ' : '';
  h.set('X-Forwarded-For', prior + req.peerIP);
  if (!h.has('X-Forwarded-Method')) h.set('X-Forwarded-Method', req.method);
  if (!h.has('X-Forwarded-Proto')) h.set('X-Forwarded-Proto', 'http');
  // CVE-2026-54764 fix: the port follows the forward request's proto, not the client's.
  if (!h.has('X-Forwarded-Port')) h.set('X-Forwarded-Port', forwardedPort(req.host, h.get('X-Forwarded-Proto')));
  if (!h.has('X-Forwarded-Host')) h.set('X-Forwarded-Host', req.host);
  if (!h.has('X-Forwarded-Uri')) h.set('X-Forwarded-Uri', req.requestURI);
  return h;
}

/** Go `transferWriter.shouldSendContentLength` for a request without a body. */
function sendsZeroContentLength(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

type BodyRead = { kind: 'ok'; data: Buffer } | { kind: 'too-large' } | { kind: 'error' };

/** Reads a body whole, or up to `limit` (+1 byte to detect an overflow); `limit < 0` = unlimited. */
function readLimited(body: Readable | Buffer, limit: number): Promise<BodyRead> {
  if (Buffer.isBuffer(body)) return Promise.resolve(limit >= 0 && body.length > limit ? { kind: 'too-large' } : { kind: 'ok', data: body });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (r: BodyRead) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      resolve(r);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      total += c.length;
      if (limit >= 0 && total > limit) done({ kind: 'too-large' });
    };
    const onEnd = () => done({ kind: 'ok', data: Buffer.concat(chunks) });
    const onError = () => done({ kind: 'error' });
    const onClose = () => done({ kind: 'error' });
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

type AuthOutcome =
  | { kind: 'reply'; status: number; headers: GoHeader; body: Buffer }
  | { kind: 'too-large' }
  | { kind: 'error'; cause: string }
  | { kind: 'aborted' };

/**
 * Step 5 on the wire: one request to `address`, no redirect followed, the whole exchange bounded by
 * the timeout. Header lines go out in Go's order: Host, User-Agent, framing, the map sorted,
 * then the transport's `Accept-Encoding: gzip`.
 */
function callAuthServer(fa: CompiledForwardAuth, method: string, headers: GoHeader, body: Buffer | undefined, req: EmuRequest): Promise<AuthOutcome> {
  const addr = fa.address;
  // Go's client writes its default User-Agent when the header map has no User-Agent key, and none
  // for an empty value. The explicit-trust path sets '' when the client sent none (v3.6.9+); the
  // legacy path does not, and an authRequestHeaders list without User-Agent drops either.
  const userAgent = headers.has('User-Agent') ? headers.get('User-Agent') : GO_USER_AGENT;
  const requestedGzip = headers.get('Accept-Encoding') === '' && headers.get('Range') === '' && method !== 'HEAD';

  return new Promise<AuthOutcome>((resolve) => {
    let settled = false;
    const client = (addr.protocol === 'https:' ? https : http).request({
      host: addr.hostname,
      port: addr.port,
      method,
      path: addr.requestURI,
      setHost: false,
      agent: false,
    });
    const finish = (outcome: AuthOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal.removeEventListener('abort', onAbort);
      if (outcome.kind !== 'reply') client.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'error', cause: `no complete reply within ${fa.timeoutMs} ms` }), fa.timeoutMs);
    const onAbort = () => finish({ kind: 'aborted' });
    req.signal.addEventListener('abort', onAbort, { once: true });

    client.setHeader('Host', addr.authority);
    if (userAgent !== '') client.setHeader('User-Agent', userAgent);
    if (body !== undefined && req.chunked) client.setHeader('Transfer-Encoding', 'chunked');
    else if (body !== undefined && body.length > 0) client.setHeader('Content-Length', String(body.length));
    else if (sendsZeroContentLength(method)) client.setHeader('Content-Length', '0');
    for (const [name, values] of groupLines(headers.lines(REQUEST_WRITE_EXCLUDE))) client.setHeader(name, values);
    if (requestedGzip) client.setHeader('Accept-Encoding', 'gzip');
    client.removeHeader('Connection');
    if (!client.hasHeader('Content-Length')) client.removeHeader('Content-Length');
    if (!client.hasHeader('Transfer-Encoding')) client.removeHeader('Transfer-Encoding');

    client.on('error', (err) => finish({ kind: 'error', cause: err.message }));
    client.on('response', (res) => {
      const replyHeaders = GoHeader.fromRawHeaders(res.rawHeaders);
      dropTransferEncoding(replyHeaders);
      let stream: Readable = res;
      let compressedBytes = 0;
      if (requestedGzip && replyHeaders.get('Content-Encoding').toLowerCase() === 'gzip' && method !== 'HEAD') {
        // Go's transport asked for gzip itself, so it decodes it and hides that it did.
        replyHeaders.del('Content-Encoding');
        replyHeaders.del('Content-Length');
        res.on('data', (c: Buffer) => (compressedBytes += c.length));
        const gunzip = createGunzip();
        stream = res.pipe(gunzip);
        res.on('error', (err) => gunzip.destroy(err));
      }
      const chunks: Buffer[] = [];
      let total = 0;
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        total += c.length;
        if (fa.maxResponseBodySize >= 0 && total > fa.maxResponseBodySize) {
          stream.destroy();
          finish({ kind: 'too-large' });
        }
      });
      stream.on('end', () => finish({ kind: 'reply', status: res.statusCode ?? 0, headers: replyHeaders, body: Buffer.concat(chunks) }));
      stream.on('error', (err) => {
        // An empty gzip body reads as EOF in Go, not as an error.
        if (stream !== res && compressedBytes === 0) finish({ kind: 'reply', status: res.statusCode ?? 0, headers: replyHeaders, body: EMPTY });
        else finish({ kind: 'error', cause: err.message });
      });
    });
    client.end(body !== undefined && body.length > 0 ? body : undefined);
  });
}

/** Go's HTTP parser removes Transfer-Encoding from the header map (and Content-Length when chunked). */
function dropTransferEncoding(h: GoHeader): void {
  if (!h.has('Transfer-Encoding')) return;
  if (headerValuesContainsToken(h.values('Transfer-Encoding'), 'chunked')) h.del('Content-Length');
  h.del('Transfer-Encoding');
}

function groupLines(lines: Array<[string, string]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of lines) {
    const values = out.get(k);
    if (values) values.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/**
 * Step 6: `Location` resolved against `address` as Go's net/url does (`Response.Location()`, then
 * `String()`), or re-serialised as written when preserved (`url.Parse(location).String()`).
 * Undefined where Go errors: Traefik then answers 500.
 */
function rewriteLocation(fa: CompiledForwardAuth, location: string): string | undefined {
  return fa.preserveLocationHeader ? goReparse(location) : goResolveLocation(fa.addressHref, location);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/** Go `http.Redirect(rw, req, url, 302)`. */
function signinRedirect(signinURL: string, req: EmuRequest): Reply {
  let url = signinURL;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url) && !url.startsWith('//')) {
    // A relative URL is made absolute-path against the request path, as Go does.
    const oldPath = unescapePath(req.requestURI.split('?')[0] ?? '/') || '/';
    if (url === '' || !url.startsWith('/')) url = oldPath.slice(0, oldPath.lastIndexOf('/') + 1) + url;
    const q = url.indexOf('?');
    const query = q >= 0 ? url.slice(q) : '';
    const base = q >= 0 ? url.slice(0, q) : url;
    let cleaned = cleanPath(base);
    if (base.endsWith('/') && !cleaned.endsWith('/')) cleaned += '/';
    url = cleaned + query;
  }
  const headers = new GoHeader();
  // hexEscapeNonASCII: each byte >= 0x80 becomes %xx (lower-case hex, as strconv.AppendInt writes it).
  headers.set('Location', [...Buffer.from(url, 'utf8')].map((b) => (b >= 0x80 ? '%' + b.toString(16) : String.fromCharCode(b))).join(''));
  if (req.method === 'GET' || req.method === 'HEAD') headers.set('Content-Type', 'text/html; charset=utf-8');
  const body = req.method === 'GET' ? Buffer.from(`<a href="${url.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)}">Found</a>.\n\n`, 'utf8') : EMPTY;
  return { status: 302, headers, body };
}

/** Step 6: a non-2xx auth reply goes to the client (status, headers minus hop-by-hop, body). */
function deniedReply(fa: CompiledForwardAuth, auth: { status: number; headers: GoHeader; body: Buffer }): Reply {
  const headers = auth.headers.clone();
  for (const name of FORWARD_AUTH_HOP_HEADERS) headers.del(name);
  const location = auth.headers.get('Location');
  if (location !== '') {
    const rewritten = rewriteLocation(fa, location);
    if (rewritten === undefined) return emptyReply(500);
    headers.set('Location', rewritten);
  }
  return { status: auth.status, headers, body: auth.body };
}

/** Step 7: the auth cookies named in `addAuthCookiesToResponse` replace the backend's of the same name. */
function mergeCookies(reply: Reply, authCookies: GoCookie[], names: ReadonlySet<string>): Reply {
  if (reply.tunnel) return reply;
  const backendCookies = readSetCookies(reply.headers);
  reply.headers.del('Set-Cookie');
  for (const c of backendCookies) if (!names.has(c.name)) reply.headers.add('Set-Cookie', cookieString(c));
  for (const c of authCookies) if (names.has(c.name)) reply.headers.add('Set-Cookie', cookieString(c));
  return reply;
}

/** Steps 5–7 as one middleware: ask the auth server, then deny, or rewrite the request and go on. */
function forwardAuthMiddleware(fa: CompiledForwardAuth, next: Handler): Handler {
  return async (req) => {
    const method = fa.preserveRequestMethod ? req.method : 'GET';

    // forwardBody: read (up to maxBodySize + 1), send it to the auth server, replay it to the backend.
    let authBody: Buffer | undefined;
    if (fa.forwardBody && !(req.method === 'CONNECT' && req.contentLength < 0)) {
      const read = await readLimited(req.body, fa.maxBodySize);
      if (read.kind === 'too-large') return emptyReply(401);
      if (read.kind === 'error') return emptyReply(req.signal.aborted ? CLIENT_CLOSED_REQUEST : 500);
      req.body = read.data;
      authBody = read.data;
    }

    const headers = buildAuthRequestHeaders(fa, req);
    const outcome = await callAuthServer(fa, method, headers, authBody, req);
    switch (outcome.kind) {
      case 'aborted':
        return emptyReply(CLIENT_CLOSED_REQUEST);
      case 'error':
        return emptyReply(500);
      case 'too-large':
        return emptyReply(401);
      case 'reply':
        break;
    }

    if (fa.authSigninURL !== '' && outcome.status === 401) return signinRedirect(fa.authSigninURL, req);
    if (outcome.status < 200 || outcome.status >= 300) return deniedReply(fa, outcome);

    // 2xx: the client's copies of the listed headers go, whether or not the reply has them.
    for (const name of fa.responseHeaders) {
      req.headers.del(name);
      const values = outcome.headers.values(name);
      if (values.length > 0) req.headers.set(name, values);
    }
    if (fa.responseHeadersRegex) {
      const re = fa.responseHeadersRegex;
      for (const key of req.headers.keys()) if (re.test(key)) req.headers.del(key);
      for (const key of outcome.headers.keys()) if (re.test(key)) req.headers.set(key, outcome.headers.values(key));
    }

    const authCookies = readSetCookies(outcome.headers);
    const reply = await next(req);
    return authCookies.length === 0 ? reply : mergeCookies(reply, authCookies, fa.authCookieNames);
  };
}

/** The `headers` middleware, request side: set each custom header, or delete it when its value is ''. */
function headersMiddleware(config: HeadersMiddlewareConfig, next: Handler): Handler {
  const custom = Object.entries(config.customRequestHeaders ?? {});
  return (req) => {
    for (const [name, value] of custom) {
      if (value === '') req.headers.del(name);
      else req.headers.set(name, value);
    }
    return next(req);
  };
}

// ---------------------------------------------------------------------------------------------
// Step 7 (end): the reverse proxy to the service; step 8: its error mapping
// ---------------------------------------------------------------------------------------------

function removeHopByHopHeaders(h: GoHeader): void {
  for (const line of h.values('Connection')) {
    for (const token of line.split(',')) {
      const name = token.trim();
      if (name !== '') h.del(name);
    }
  }
  for (const name of REVERSE_PROXY_HOP_HEADERS) h.del(name);
}

/** Go `httputil.ReverseProxy` with Traefik's director (passHostHeader: true, service path ignored). */
function serviceHandler(service: RawUrl): Handler {
  return (req) =>
    new Promise<Reply>((resolve) => {
      const h = req.headers.clone();
      const upgradeType = headerValuesContainsToken(h.values('Connection'), 'upgrade') ? h.get('Upgrade') : '';
      removeHopByHopHeaders(h);
      if (headerValuesContainsToken(req.headers.values('Te'), 'trailers')) h.set('Te', 'trailers');
      if (upgradeType !== '') {
        h.set('Connection', 'Upgrade');
        h.set('Upgrade', upgradeType);
      }
      const prior = h.values('X-Forwarded-For');
      h.set('X-Forwarded-For', prior.length > 0 ? prior.join(', ') + ', ' + req.peerIP : req.peerIP);

      const [path = '/', ...queryParts] = req.requestURI.split('?');
      const query = queryParts.length > 0 ? '?' + queryParts.join('?').replaceAll(';', '&') : '';
      let settled = false;
      const client = http.request({ host: service.hostname, port: service.port, method: req.method, path: path + query, setHost: false, agent: false });
      const finish = (reply: Reply) => {
        if (settled) return;
        settled = true;
        req.signal.removeEventListener('abort', onAbort);
        resolve(reply);
      };
      const onAbort = () => {
        client.destroy();
        finish(emptyReply(CLIENT_CLOSED_REQUEST));
      };
      req.signal.addEventListener('abort', onAbort, { once: true });

      client.setHeader('Host', req.host !== '' ? req.host : service.authority);
      if (h.get('User-Agent') !== '') client.setHeader('User-Agent', h.get('User-Agent'));
      if (req.chunked) client.setHeader('Transfer-Encoding', 'chunked');
      else if (req.contentLength > 0) client.setHeader('Content-Length', String(req.contentLength));
      else if (sendsZeroContentLength(req.method)) client.setHeader('Content-Length', '0');
      for (const [name, values] of groupLines(h.lines(REQUEST_WRITE_EXCLUDE))) client.setHeader(name, values);
      if (upgradeType === '') client.removeHeader('Connection');
      if (!client.hasHeader('Content-Length')) client.removeHeader('Content-Length');
      if (!client.hasHeader('Transfer-Encoding')) client.removeHeader('Transfer-Encoding');

      client.on('error', () => {
        // Traefik's proxy ErrorHandler: the status text as body. No Content-Type: the entrypoint's
        // contenttype.DisableAutoDetection keeps Go from sniffing one.
        const reply = emptyReply(req.signal.aborted ? CLIENT_CLOSED_REQUEST : 502);
        if (reply.status === 502) reply.body = Buffer.from('Bad Gateway');
        finish(reply);
      });
      client.on('response', (res: IncomingMessage) => {
        const headers = GoHeader.fromRawHeaders(res.rawHeaders);
        dropTransferEncoding(headers);
        removeHopByHopHeaders(headers);
        finish({ status: res.statusCode ?? 502, headers, body: res });
      });
      client.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
        // A 101 keeps its headers as sent (Go's handleUpgradeResponse copies them untouched).
        finish({ status: res.statusCode ?? 101, headers: GoHeader.fromRawHeaders(res.rawHeaders), body: EMPTY, tunnel: { socket, head } });
      });

      if (Buffer.isBuffer(req.body)) client.end(req.body.length > 0 ? req.body : undefined);
      else if (req.contentLength === 0 && !req.chunked) {
        req.body.resume();
        client.end();
      } else req.body.pipe(client);
    });
}

// ---------------------------------------------------------------------------------------------
// Config checks (every problem at once, with its path) and compilation
// ---------------------------------------------------------------------------------------------

const FORWARD_AUTH_KEYS = new Set([
  'address',
  'trustForwardHeader',
  'authResponseHeaders',
  'authResponseHeadersRegex',
  'authRequestHeaders',
  'addAuthCookiesToResponse',
  'forwardBody',
  'maxBodySize',
  'maxResponseBodySize',
  'preserveLocationHeader',
  'preserveRequestMethod',
  'authSigninURL',
]);
const EMU_KEYS = new Set([...FORWARD_AUTH_KEYS, 'entry', 'upstream']);
const ENTRY_KEYS = new Set(['trustedCidrs', 'insecure', 'sanitizePath', 'hostname', 'underscoreHeaders']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'undefined' : JSON.stringify(v));

class Problems {
  readonly list: string[] = [];
  add(path: string, rule: string, value: unknown): void {
    this.list.push(`${path} ${rule}, got ${show(value)}`);
  }
  keys(obj: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
    for (const key of Object.keys(obj)) if (!known.has(key)) this.list.push(`${path}${path ? '.' : ''}${key} is not an option of the double`);
  }
  optional(obj: Record<string, unknown>, key: string, path: string, kind: 'boolean' | 'string' | 'string[]' | 'size'): void {
    const v = obj[key];
    if (v === undefined) return;
    const at = `${path}${path ? '.' : ''}${key}`;
    if (kind === 'boolean' && typeof v !== 'boolean') this.add(at, 'must be a boolean', v);
    if (kind === 'string' && typeof v !== 'string') this.add(at, 'must be a string', v);
    if (kind === 'string[]' && !(Array.isArray(v) && v.every((s) => typeof s === 'string'))) this.add(at, 'must be an array of strings', v);
    if (kind === 'size' && !(Number.isInteger(v) && (v as number) >= -1)) this.add(at, 'must be an integer >= -1 (-1 = unlimited)', v);
  }
}

function checkUrl(problems: Problems, value: unknown, path: string): void {
  if (typeof value !== 'string' || parseRawUrl(value) === undefined) problems.add(path, 'must be an absolute http(s) URL', value);
}

function checkForwardAuth(problems: Problems, fa: Record<string, unknown>, path: string, known: ReadonlySet<string>): void {
  const p = path === '' ? '' : path + '.';
  problems.keys(fa, known, path);
  checkUrl(problems, fa.address, `${p}address`);
  problems.optional(fa, 'trustForwardHeader', path, 'boolean');
  for (const key of ['authResponseHeaders', 'authRequestHeaders', 'addAuthCookiesToResponse']) problems.optional(fa, key, path, 'string[]');
  problems.optional(fa, 'authResponseHeadersRegex', path, 'string');
  if (typeof fa.authResponseHeadersRegex === 'string') {
    try {
      new RegExp(fa.authResponseHeadersRegex);
    } catch {
      problems.add(`${p}authResponseHeadersRegex`, 'must be a valid regular expression', fa.authResponseHeadersRegex);
    }
  }
  for (const key of ['forwardBody', 'preserveLocationHeader', 'preserveRequestMethod']) problems.optional(fa, key, path, 'boolean');
  problems.optional(fa, 'maxBodySize', path, 'size');
  problems.optional(fa, 'maxResponseBodySize', path, 'size');
  problems.optional(fa, 'authSigninURL', path, 'string');
}

function checkEntry(problems: Problems, entry: unknown): void {
  if (!isObject(entry)) {
    problems.add('entry', 'must be an object', entry);
    return;
  }
  problems.keys(entry, ENTRY_KEYS, 'entry');
  if (!Array.isArray(entry.trustedCidrs)) problems.add('entry.trustedCidrs', 'must be an array of CIDRs or IPs ([] trusts nobody)', entry.trustedCidrs);
  else entry.trustedCidrs.forEach((c, i) => parseCidr(c) ?? problems.add(`entry.trustedCidrs[${i}]`, 'must be a CIDR or an IP', c));
  for (const key of ['insecure', 'sanitizePath']) problems.optional(entry, key, 'entry', 'boolean');
  problems.optional(entry, 'hostname', 'entry', 'string');
  if (entry.underscoreHeaders !== undefined && !['keep', 'delete', 'reject'].includes(entry.underscoreHeaders as string)) {
    problems.add('entry.underscoreHeaders', 'must be one of keep, delete, reject', entry.underscoreHeaders);
  }
}

function checkConfig(cfg: unknown): void {
  const problems = new Problems();
  if (!isObject(cfg)) problems.add('config', 'must be an object', cfg);
  else {
    checkEntry(problems, cfg.entry);
    if ('routers' in cfg) {
      problems.keys(cfg, new Set(['entry', 'routers']), '');
      if (!Array.isArray(cfg.routers)) problems.add('routers', 'must be an array', cfg.routers);
      else
        cfg.routers.forEach((router: unknown, i) => {
          const at = `routers[${i}]`;
          if (!isObject(router)) return problems.add(at, 'must be an object', router);
          problems.keys(router, new Set(['name', 'rule', 'middlewares', 'service']), at);
          problems.optional(router, 'name', at, 'string');
          if (router.rule !== undefined && !(isObject(router.rule) && typeof router.rule.host === 'string' && Object.keys(router.rule).length === 1)) {
            problems.add(`${at}.rule`, 'must be { host: string } (or omitted for every host)', router.rule);
          }
          checkUrl(problems, router.service, `${at}.service`);
          if (router.middlewares === undefined) return;
          if (!Array.isArray(router.middlewares)) return problems.add(`${at}.middlewares`, 'must be an array', router.middlewares);
          router.middlewares.forEach((mw: unknown, j) => {
            const mwAt = `${at}.middlewares[${j}]`;
            if (isObject(mw) && isObject(mw.headers) && mw.forwardAuth === undefined) {
              problems.keys(mw, new Set(['name', 'headers']), mwAt);
              problems.keys(mw.headers, new Set(['customRequestHeaders']), `${mwAt}.headers`);
              const custom = mw.headers.customRequestHeaders;
              if (custom !== undefined && !(isObject(custom) && Object.values(custom).every((v) => typeof v === 'string'))) {
                problems.add(`${mwAt}.headers.customRequestHeaders`, 'must map header names to strings', custom);
              }
              return;
            }
            if (!isObject(mw) || !isObject(mw.forwardAuth)) return problems.add(mwAt, 'must be { forwardAuth: {...} } or { headers: {...} } (the middlewares the double has)', mw);
            problems.keys(mw, new Set(['name', 'forwardAuth']), mwAt);
            checkForwardAuth(problems, mw.forwardAuth, `${mwAt}.forwardAuth`, FORWARD_AUTH_KEYS);
          });
        });
    } else {
      checkForwardAuth(problems, cfg, '', EMU_KEYS);
      checkUrl(problems, cfg.upstream, 'upstream');
    }
  }
  if (problems.list.length > 0) throw new Error(`Traefik double: invalid config:\n  ${problems.list.join('\n  ')}`);
}

function parseCidr(value: unknown): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  if (typeof value !== 'string') return undefined;
  const [network = '', prefixText, ...extra] = value.split('/');
  const family = isIP(network);
  if (family === 0 || extra.length > 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) return undefined;
  return { network, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

function compileEntry(entry: EntryPointConfig): CompiledEntry {
  const trusted = new BlockList();
  for (const cidr of entry.trustedCidrs) {
    const c = parseCidr(cidr)!;
    trusted.addSubnet(c.network, c.prefix, c.family);
  }
  return {
    insecure: entry.insecure ?? false,
    trusted,
    sanitizePath: entry.sanitizePath ?? true,
    hostname: entry.hostname ?? os.hostname(),
    underscoreHeaders: entry.underscoreHeaders ?? 'keep',
  };
}

function compileForwardAuth(fa: ForwardAuthConfig, timeoutMs: number): CompiledForwardAuth {
  return {
    address: parseRawUrl(fa.address)!,
    addressHref: fa.address,
    trust: fa.trustForwardHeader,
    responseHeaders: (fa.authResponseHeaders ?? []).map(canonicalHeaderKey),
    responseHeadersRegex: fa.authResponseHeadersRegex ? new RegExp(fa.authResponseHeadersRegex) : undefined,
    requestHeaders: fa.authRequestHeaders ?? [],
    authCookieNames: new Set(fa.addAuthCookiesToResponse ?? []),
    forwardBody: fa.forwardBody ?? false,
    maxBodySize: fa.maxBodySize ?? -1,
    maxResponseBodySize: fa.maxResponseBodySize ?? -1,
    preserveLocationHeader: fa.preserveLocationHeader ?? false,
    preserveRequestMethod: fa.preserveRequestMethod ?? false,
    authSigninURL: fa.authSigninURL ?? '',
    timeoutMs,
  };
}

interface CompiledRouter {
  name: string;
  host: string | undefined;
  handler: Handler;
}

function toRouted(cfg: EmuConfig | RoutedConfig): RoutedConfig {
  if ('routers' in cfg) return cfg;
  const { entry, upstream, ...forwardAuth } = cfg;
  return { entry, routers: [{ name: 'default', middlewares: [{ name: 'forward-auth', forwardAuth }], service: upstream }] };
}

function compileRouters(cfg: RoutedConfig, timeoutMs: number): CompiledRouter[] {
  const routers = cfg.routers.map((r, i): CompiledRouter => {
    const name = r.name ?? `router${i}`;
    let handler = serviceHandler(parseRawUrl(r.service)!);
    const middlewares = r.middlewares ?? [];
    for (let j = middlewares.length - 1; j >= 0; j--) {
      const mw = middlewares[j]!;
      handler = mw.headers ? headersMiddleware(mw.headers, handler) : forwardAuthMiddleware(compileForwardAuth(mw.forwardAuth, timeoutMs), handler);
    }
    return { name, host: r.rule?.host.toLowerCase(), handler };
  });
  // Host rules before catch-all routers, as Traefik's rule-length priority would order them.
  return [...routers.filter((r) => r.host !== undefined), ...routers.filter((r) => r.host === undefined)];
}

function matchRouter(routers: readonly CompiledRouter[], host: string): CompiledRouter | undefined {
  const hp = splitHostPort(host);
  const hostname = (hp ? hp.host : host).toLowerCase().replace(/\.$/, '');
  return routers.find((r) => r.host === undefined || r.host === hostname);
}

// ---------------------------------------------------------------------------------------------
// The server: steps 1–4, routing, then the router's chain; replies written as Go would
// ---------------------------------------------------------------------------------------------

function peerAddress(socket: Socket): string {
  const ip = (socket.remoteAddress ?? '').replace(/%.*$/, '');
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** Go's server writes a Content-Length for a body it holds whole (none for 1xx, 204, 304). */
function withContentLength(reply: Reply): Reply {
  if (Buffer.isBuffer(reply.body) && !reply.headers.has('Content-Length') && reply.status >= 200 && reply.status !== 204 && reply.status !== 304) {
    reply.headers.set('Content-Length', String(reply.body.length));
  }
  return reply;
}

function notFound(): Reply {
  const headers = new GoHeader();
  headers.set('Content-Type', 'text/plain; charset=utf-8');
  headers.set('X-Content-Type-Options', 'nosniff');
  return { status: 404, headers, body: Buffer.from('404 page not found\n') };
}

/** Go's server answer to a request-target it cannot parse. */
function badRequestFromServer(): Reply {
  const headers = new GoHeader();
  headers.set('Content-Type', 'text/plain; charset=utf-8');
  headers.set('Connection', 'close');
  return { status: 400, headers, body: Buffer.from('400 Bad Request') };
}

async function collect(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes a reply on a normal (non-upgrade) request. */
function writeReply(res: ServerResponse, reply: Reply): void {
  withContentLength(reply);
  const flat: string[] = [];
  for (const [k, v] of reply.headers.lines()) flat.push(k, v);
  res.writeHead(reply.status, flat);
  if (Buffer.isBuffer(reply.body)) res.end(reply.body);
  else pipeline(reply.body, res, () => undefined);
}

/** Status line and header block, for a socket that Node's HTTP server has handed over. */
function rawHead(reply: Reply): Buffer {
  const statusLine = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? `status code ${reply.status}`}\r\n`;
  const headerText = reply.headers
    .lines()
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.from(statusLine + headerText + '\r\n', 'latin1');
}

/** Writes a non-101 reply to an upgrade request, then closes the connection. */
async function writeRawReply(socket: Duplex, reply: Reply, isHead: boolean): Promise<void> {
  const body = await collect(reply.body);
  reply.headers.set('Content-Length', String(body.length));
  reply.headers.set('Connection', 'close');
  socket.end(Buffer.concat([rawHead(reply), isHead ? EMPTY : body]));
}

export async function startTraefikDouble(cfg: EmuConfig | RoutedConfig, opts: TraefikDoubleOptions = {}): Promise<TraefikDouble> {
  checkConfig(cfg);
  const routed = toRouted(cfg);
  const release = opts.release ?? 'v3.6.24';
  if (release === 'v3.6.24' && routed.routers.some((r) => r.middlewares?.some((m) => m.forwardAuth?.authSigninURL !== undefined))) {
    throw new Error("Traefik double: authSigninURL exists from Traefik v3.7.0; this double follows v3.6.24 (start it with release: 'v3.7.9')");
  }
  const entry = compileEntry(routed.entry);
  const routers = compileRouters(routed, opts.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS);
  const accessLog: AccessLogEntry[] = [];
  const tunnels = new Set<Duplex>();

  async function handle(clientReq: IncomingMessage, signal: AbortSignal, upgrade?: { socket: Duplex; head: Buffer }): Promise<{ reply: Reply; router?: string }> {
    // Step 1: the request-target.
    const target = parseRequestTarget(clientReq.url ?? '');
    if (!target) return { reply: badRequestFromServer() };
    if (target.rawPath.includes('#')) return { reply: emptyReply(400) };

    // Step 3 happens as Go parses the request: the header map has canonical names.
    const headers = GoHeader.fromRawHeaders(clientReq.rawHeaders);
    const hosts = headers.values('Host');
    if (hosts.length > 1) return { reply: badRequestFromServer() };
    headers.del('Host');
    const chunked = headerValuesContainsToken(headers.values('Transfer-Encoding'), 'chunked');
    dropTransferEncoding(headers);
    const contentLength = chunked ? -1 : Number(headers.get('Content-Length') || 0);

    if (applyUnderscoreStrategy(entry.underscoreHeaders, headers) === 'reject') return { reply: emptyReply(400) };

    // Step 2: the path.
    const requestURI = normalizeRequestURI(target, entry.sanitizePath);
    if (requestURI === undefined) return { reply: badRequestFromServer() };

    const req: EmuRequest = {
      method: clientReq.method ?? 'GET',
      host: target.authorityHost ?? hosts[0] ?? '',
      headers,
      requestURI,
      peerIP: peerAddress(clientReq.socket),
      contentLength,
      chunked,
      body: upgrade ? EMPTY : clientReq,
      signal,
    };
    if (upgrade) req.upgrade = upgrade;

    // Step 4: the entrypoint's X-headers.
    applyEntrypointHeaders(entry, req);

    const router = matchRouter(routers, req.host);
    if (!router) return { reply: notFound() };
    try {
      return { reply: await router.handler(req), router: router.name };
    } catch {
      return { reply: emptyReply(500), router: router.name };
    }
  }

  function log(clientReq: IncomingMessage, status: number, router: string | undefined): void {
    const entryLine: AccessLogEntry = { method: clientReq.method ?? '', target: clientReq.url ?? '', host: clientReq.headers.host ?? '', status };
    if (router !== undefined) entryLine.router = router;
    accessLog.push(entryLine);
  }

  const server = http.createServer((clientReq: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    handle(clientReq, controller.signal)
      .then(({ reply, router }) => {
        if (controller.signal.aborted) {
          if (!Buffer.isBuffer(reply.body)) reply.body.destroy();
          log(clientReq, CLIENT_CLOSED_REQUEST, router);
          return;
        }
        log(clientReq, reply.status, router);
        writeReply(res, reply);
      })
      .catch(() => res.destroy());
  });

  // Upgrade requests (websockets) go through the same pipeline; a 101 from the backend is spliced.
  server.on('upgrade', (clientReq: IncomingMessage, socket: Duplex, head: Buffer) => {
    const controller = new AbortController();
    tunnels.add(socket);
    socket.on('close', () => {
      tunnels.delete(socket);
      controller.abort();
    });
    socket.on('error', () => socket.destroy());
    handle(clientReq, controller.signal, { socket, head })
      .then(async ({ reply, router }) => {
        if (controller.signal.aborted) {
          reply.tunnel?.socket.destroy();
          log(clientReq, CLIENT_CLOSED_REQUEST, router);
          return;
        }
        log(clientReq, reply.status, router);
        if (!reply.tunnel) return writeRawReply(socket, reply, clientReq.method === 'HEAD');
        const upstream = reply.tunnel.socket;
        tunnels.add(upstream);
        upstream.on('close', () => tunnels.delete(upstream));
        socket.write(rawHead(reply));
        if (reply.tunnel.head.length > 0) socket.write(reply.tunnel.head);
        if (head.length > 0) upstream.write(head);
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.on('close', () => socket.destroy());
        upstream.pipe(socket);
        socket.pipe(upstream);
      })
      .catch(() => socket.destroy());
  });

  // No Keep-Alive header of our own on responses; idle sockets are closed by close().
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    accessLog,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of tunnels) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
