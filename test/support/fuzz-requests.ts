/**
 * Random HTTP requests for the fuzz test (test/e2e/fuzz.test.ts), from a seeded PRNG so that a
 * failure reproduces: the same seed gives the same requests in the same order.
 *
 * Everything stays within what Node's HTTP client will send (method tokens, paths of bytes
 * 0x21-0xff, header values of TAB and bytes 0x20-0x7e and 0x80-0xff); within that, anything goes:
 * duplicated and oversized headers, non-ASCII bytes, broken cookies, broken form bodies.
 */

/** mulberry32: small, fast, good enough to spread requests; seeded, so a run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body?: Buffer;
}

export interface FuzzInputs {
  /** Session ids worth sending: real sessions, and sessions stored with odd fields. */
  readonly sessionIds: readonly string[];
  readonly cookieName: string;
  /** Provider ids configured in the Postern under test. */
  readonly providers: readonly string[];
  /** A valid form-token pair (the nonce cookie's value and the form's token), so some sign-ins get past the CSRF check. */
  readonly csrf: { readonly nonce: string; readonly token: string };
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'M-SEARCH', 'X'];
const HEADER_NAMES = [
  'x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri', 'x-forwarded-for', 'x-original-url', 'x-original-method',
  'x-real-ip', 'forwarded', 'accept', 'user-agent', 'referer', 'origin', 'x-requested-with', 'authorization', 'content-type', 'accept-language',
  'remote-user', 'remote-groups', 'x-forwarded-port', 'x-forwarded-prefix', 'sec-fetch-mode', 'if-none-match',
];
const FORM_FIELDS = ['username', 'password', 'csrf', '_csrf', 'rd', 'remember', 'state', 'code', 'id_token_hint', ''];

export function createFuzzer(seed: number, inputs: FuzzInputs): () => FuzzRequest {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const chance = (p: number) => random() < p;

  /** Bytes as a latin1 string (what Node's client writes byte for byte). */
  function bytes(length: number, lo: number, hi: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += String.fromCharCode(lo + int(hi - lo + 1));
    return out;
  }
  /** UTF-8 of `text`, as the latin1 string of its bytes. */
  const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  const SAMPLES = ['Zoë', '日本語', '😀', '\u202eevil', 'ﬀ', 'İ', '%00', '%zz', '%C0%AE', '..', '../..', '//evil.example', 'javascript:alert(1)', ',', ';', '"', "'", '<script>', '\\', '*', '{}', '[]'];

  function text(max: number): string {
    switch (int(7)) {
      case 0:
        return '';
      case 1:
        return bytes(1 + int(max), 0x20, 0x7e);
      case 2:
        return bytes(1 + int(max), 0x80, 0xff);
      case 3:
        return utf8(pick(SAMPLES).repeat(1 + int(8)));
      case 4:
        return pick(SAMPLES);
      case 5:
        return 'x'.repeat(chance(0.3) ? 9000 + int(12_000) : 200 + int(3000));
      default:
        return `${pick(['https://', 'http://', '', '//'])}${pick(['photos.example.com', 'auth.example.com', 'evil.test', 'example.com.evil.test', '[::1]', '127.0.0.1:9', 'ex%61mple.com'])}${pick(['/', '/a?b=c', '', '/%2e%2e/', '#frag'])}`;
    }
  }

  /** Path bytes 0x21-0xff only (Node refuses others in a request target). */
  function pathText(max: number): string {
    return text(max).replace(/[^\x21-\xff]/g, '~');
  }

  function headerValue(): string {
    return text(60).replace(/[^\t\x20-\x7e\x80-\xff]/g, ' ');
  }

  function cookie(): string {
    const name = inputs.cookieName;
    const session = () =>
      chance(0.5) && inputs.sessionIds.length > 0 ? pick(inputs.sessionIds) : chance(0.5) ? bytes(43, 0x41, 0x5a) : pathText(60).replace(/[;,]/g, '');
    switch (int(6)) {
      case 0:
        return chance(0.5) ? `${name}=${session()}` : `${name}=${session()}; ${name}_csrf=${inputs.csrf.nonce}`;
      case 1:
        return `${name}=${session()}; ${name}=${session()}; ${name}_csrf=${pathText(40)}`;
      case 2:
        return `a=b; ${name}="${session()}"; c`;
      case 3:
        return `${name}=${session()}`.repeat(1 + int(20));
      case 4:
        return headerValue();
      default:
        return `${name}=${pick(inputs.sessionIds.length > 0 ? inputs.sessionIds : ['x'])}; ${name}.sig=${bytes(27, 0x61, 0x7a)}`;
    }
  }

  function query(): string {
    if (chance(0.3)) return '';
    const pairs: string[] = [];
    for (let i = int(5); i >= 0; i--) pairs.push(`${pick(['rd', 'state', 'code', 'iss', 'error', 'x', 'rd', ''])}=${chance(0.5) ? encodeURIComponent(text(80)) : pathText(80)}`);
    return `?${pairs.join(pick(['&', '&', ';', '&&']))}`;
  }

  function target(): string {
    const roll = int(100);
    if (roll < 45) return `/verify/${pick(['nginx', 'traefik', 'caddy'])}${chance(0.1) ? query() : ''}`;
    if (roll < 60) return `/login${query()}`;
    if (roll < 70) return `/logout${query()}`;
    if (roll < 82) return `/oidc/${chance(0.9) ? pick(inputs.providers) : pathText(10)}/callback${query()}`;
    if (roll < 85) return `/oidc/${pick(inputs.providers)}/start${query()}`;
    if (roll < 92) return pick(['/', '/readyz', '/healthz', '/verify', '/verify/', '/verify/nginx/', '/VERIFY/NGINX', '//login', '/login/', '/favicon.ico']);
    return `/${pathText(40)}`;
  }

  function body(): Buffer {
    if (chance(0.15)) return Buffer.from(bytes(int(2000), 0, 0xff), 'latin1');
    if (chance(0.05)) return Buffer.alloc(17_000 + int(30_000), 0x61);
    const parts: string[] = chance(0.3) ? [`csrf=${inputs.csrf.token}`] : [];
    for (let i = int(6); i >= 0; i--) {
      const value = chance(0.5) ? encodeURIComponent(text(100)) : pathText(100);
      parts.push(`${pick(FORM_FIELDS)}${chance(0.9) ? '=' : ''}${value}`);
    }
    return Buffer.from(parts.join('&'), 'latin1');
  }

  return () => {
    const method = chance(0.97) ? pick(METHODS) : bytes(1 + int(8), 0x41, 0x5a);
    const path = target();
    const headers: Record<string, string | string[]> = {};
    // Most verify requests say which URL they are about, so that they reach the session lookup and the decision.
    if (path.startsWith('/verify/') && chance(0.7)) {
      const url = chance(0.8) ? pick(['https://photos.example.com/album/1', 'http://app.example.com/', 'https://example.com/a?b=c', 'https://auth.example.com/login']) : text(100).replace(/[^\x20-\x7e\x80-\xff]/g, '');
      headers['x-original-url'] = url;
      headers['x-original-method'] = pick(METHODS);
      headers['x-forwarded-proto'] = pick(['https', 'http', 'ftp', '']);
      headers['x-forwarded-host'] = pick(['photos.example.com', 'app.example.com', 'evil.test', 'PHOTOS.EXAMPLE.COM.', '']);
      headers['x-forwarded-uri'] = pick(['/', '/album/1?x=1', '/%2e%2e/admin', '//x', '']);
      headers['x-forwarded-method'] = pick(METHODS);
    }
    for (let i = int(8); i > 0; i--) {
      const name = chance(0.9) ? pick(HEADER_NAMES) : bytes(1 + int(12), 0x61, 0x7a);
      // Duplicated headers: Node sends one line per array item.
      headers[name] = chance(0.2) ? [headerValue(), headerValue()] : headerValue();
    }
    if (chance(0.8)) headers.cookie = chance(0.1) ? [cookie(), cookie()] : cookie();
    if (chance(0.05)) headers['x-padding'] = 'p'.repeat(4000 + int(20_000));
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    if (hasBody && chance(0.8)) headers['content-type'] = pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=latin1', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', headerValue()]);
    return { method, path, headers, ...(hasBody ? { body: body() } : {}) };
  };
}
