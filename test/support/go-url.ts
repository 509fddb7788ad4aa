/**
 * Go's net/url, as far as Traefik's forwardAuth uses it on a `Location`: `url.Parse`, `URL.String()`
 * and `URL.ResolveReference()` (Go's `Response.Location()` is `req.URL.Parse(location)`). It differs
 * from the WHATWG parser behind `new URL()`: a backslash is a path byte (escaped `%5C`), not `/`; a bad
 * `%` escape in the path is an error, not kept; a default port (`:80`) stays; `http://h` gets no `/`;
 * the query is kept as written. Written from Go 1.24 `src/net/url/url.go`; a `string` here holds bytes
 * (latin1), as Go's strings do.
 */

/** A parsed URL in Go's fields (no Opaque support beyond keeping it). */
interface GoUrl {
  scheme: string;
  opaque: string;
  user: string | undefined;
  host: string;
  /** The path as written (Go's RawPath, or Path when they agree): what EscapedPath() works from. */
  rawPath: string;
  forceQuery: boolean;
  rawQuery: string;
  fragment: string | undefined;
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** `shouldEscape(c, encodePath)` and `(c, encodeFragment)`. */
function shouldEscape(c: string, mode: 'path' | 'fragment'): boolean {
  if (UNRESERVED.test(c)) return false;
  if ('$&+,/:;=@'.includes(c)) return false;
  if (mode === 'fragment' && "!()*?'".includes(c)) return false;
  return true;
}

/** `validEncoded(s, mode)`: may this raw text be written as is? */
function validEncoded(s: string, mode: 'path' | 'fragment'): boolean {
  for (const c of s) {
    if ("!$&'()*+,;=:@[]".includes(c) || c === '%') continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

/** `unescape`: undefined where Go returns "invalid URL escape". */
function unescape(s: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return undefined;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function escape(s: string, mode: 'path' | 'fragment'): string {
  let out = '';
  for (const c of s) out += shouldEscape(c, mode) ? '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0') : c;
  return out;
}

/** `EscapedPath()` / `EscapedFragment()` of a component written as `raw` (already checked by unescape). */
function escaped(raw: string, mode: 'path' | 'fragment'): string {
  return validEncoded(raw, mode) ? raw : escape(unescape(raw)!, mode);
}

/** `getScheme`: ['', raw] when there is none; undefined for "missing protocol scheme". */
function getScheme(raw: string): [string, string] | undefined {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ['', raw];
      continue;
    }
    if (c === ':') return i === 0 ? undefined : [raw.slice(0, i), raw.slice(i + 1)];
    return ['', raw];
  }
  return ['', raw];
}

/** `parseHost` and its checks, simplified: brackets closed, a numeric port, legal host bytes. */
function validHost(host: string): boolean {
  if (host.startsWith('[')) {
    const end = host.lastIndexOf(']');
    if (end < 0) return false;
    return /^(:[0-9]*)?$/.test(host.slice(end + 1));
  }
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && !/^:[0-9]*$/.test(host.slice(colon))) return false;
  if (unescape(host) === undefined) return false;
  return /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"%\x80-\xff]*$/.test(host);
}

/** `url.Parse`: undefined where Go returns an error. */
export function goParse(rawUrl: string): GoUrl | undefined {
  // Go rejects ASCII control bytes anywhere.
  if (/[\x00-\x1f\x7f]/.test(rawUrl)) return undefined;
  const hash = rawUrl.indexOf('#');
  const [beforeFragment, fragment] = hash === -1 ? [rawUrl, undefined] : [rawUrl.slice(0, hash), rawUrl.slice(hash + 1)];
  if (fragment !== undefined && unescape(fragment) === undefined) return undefined;
  const u: GoUrl = { scheme: '', opaque: '', user: undefined, host: '', rawPath: '', forceQuery: false, rawQuery: '', fragment: fragment === '' ? undefined : fragment };
  if (beforeFragment === '') return u;
  const scheme = getScheme(beforeFragment);
  if (!scheme) return undefined;
  u.scheme = scheme[0].toLowerCase();
  let rest = scheme[1];
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    u.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf('?');
    if (q !== -1) {
      u.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith('/')) {
    if (u.scheme !== '') {
      u.opaque = rest;
      return u;
    }
    const slash = rest.indexOf('/');
    if ((slash === -1 ? rest : rest.slice(0, slash)).includes(':')) return undefined;
  }
  if ((u.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    const afterSlashes = rest.slice(2);
    const slash = afterSlashes.indexOf('/');
    const authority = slash === -1 ? afterSlashes : afterSlashes.slice(0, slash);
    rest = slash === -1 ? '' : afterSlashes.slice(slash);
    const at = authority.lastIndexOf('@');
    if (at !== -1) u.user = authority.slice(0, at);
    u.host = at === -1 ? authority : authority.slice(at + 1);
    if (!validHost(u.host)) return undefined;
  }
  if (unescape(rest) === undefined) return undefined;
  u.rawPath = rest;
  return u;
}

/** `resolvePath(base, ref)`: merge, then remove dot segments (RFC 3986 §5.2.4, Go's way). */
function resolvePath(base: string, ref: string): string {
  let full: string;
  if (ref === '') full = base;
  else if (ref[0] !== '/') full = base.slice(0, base.lastIndexOf('/') + 1) + ref;
  else full = ref;
  if (full === '') return '';
  let dst = '/';
  let first = true;
  const elems = full.split('/');
  let elem = '';
  for (elem of elems) {
    if (elem === '.') {
      first = false;
      continue;
    }
    if (elem === '..') {
      const str = dst.slice(1);
      const index = str.lastIndexOf('/');
      dst = '/';
      if (index === -1) first = true;
      else dst += str.slice(0, index);
    } else {
      if (!first) dst += '/';
      dst += elem;
      first = false;
    }
  }
  if (elem === '.' || elem === '..') dst += '/';
  return dst.length > 1 && dst[1] === '/' ? dst.slice(1) : dst;
}

/** `URL.ResolveReference`. Paths are resolved in escaped form, as Go does. */
export function goResolveReference(base: GoUrl, ref: GoUrl): GoUrl {
  const url: GoUrl = { ...ref };
  if (ref.scheme === '') url.scheme = base.scheme;
  if (ref.scheme !== '' || ref.host !== '' || ref.user !== undefined) {
    url.rawPath = resolvePath(escaped(ref.rawPath, 'path'), '');
    return url;
  }
  if (ref.opaque !== '') return url;
  if (ref.rawPath === '' && !ref.forceQuery && ref.rawQuery === '') {
    url.rawQuery = base.rawQuery;
    if (ref.fragment === undefined) url.fragment = base.fragment;
  }
  url.host = base.host;
  url.user = base.user;
  url.rawPath = resolvePath(escaped(base.rawPath, 'path'), escaped(ref.rawPath, 'path'));
  return url;
}

/** `URL.String()`. */
export function goString(u: GoUrl): string {
  let buf = u.scheme === '' ? '' : `${u.scheme}:`;
  if (u.opaque !== '') buf += u.opaque;
  else {
    if (u.scheme !== '' || u.host !== '' || u.user !== undefined) {
      if (u.host !== '' || u.rawPath !== '' || u.user !== undefined) buf += '//';
      if (u.user !== undefined) buf += `${u.user}@`;
      buf += u.host.replace(/[\x80-\xff]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
    }
    const path = escaped(u.rawPath, 'path');
    if (path !== '' && path[0] !== '/' && u.host !== '') buf += '/';
    if (buf === '') {
      const slash = path.indexOf('/');
      if ((slash === -1 ? path : path.slice(0, slash)).includes(':')) buf += './';
    }
    buf += path;
  }
  if (u.forceQuery || u.rawQuery !== '') buf += `?${u.rawQuery}`;
  if (u.fragment !== undefined) buf += `#${escaped(u.fragment, 'fragment')}`;
  return buf;
}

/** Go's `Response.Location()` then `.String()`: `location` resolved against the request URL; undefined = Go's error. */
export function goResolveLocation(requestUrl: string, location: string): string | undefined {
  const base = goParse(requestUrl);
  const ref = goParse(location);
  return base && ref ? goString(goResolveReference(base, ref)) : undefined;
}

/** `url.Parse(location).String()` (Traefik's preserveLocationHeader); undefined = Go's error. */
export function goReparse(location: string): string | undefined {
  const u = goParse(location);
  return u ? goString(u) : undefined;
}
