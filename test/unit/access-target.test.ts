import { describe, expect, it } from 'vitest';
import { canonicaliseHost, canonicalisePath, canonicaliseTarget } from '../../src/access/target.js';

describe('canonicalisePath', () => {
  it.each([
    ['/share/x', '/share/x', 'a plain path is unchanged'],
    ['/share/../admin', '/admin', 'resolves `..`'],
    ['/share/%2e%2e/admin', '/admin', 'decodes %2e before resolving `..`'],
    ['/share/%2E%2E/admin', '/admin', 'decodes upper-case %2E'],
    ['/share/.%2e/admin', '/admin', 'decodes half-encoded `..`'],
    ['/share/./x', '/share/x', 'drops `.`'],
    ['//admin', '/admin', 'collapses a leading `//`'],
    ['/share//x///y', '/share/x/y', 'collapses repeated slashes'],
    ['/share/x/', '/share/x/', 'keeps a trailing slash'],
    ['/share/x/..', '/share/', 'a trailing `..` leaves the directory'],
    ['/share/x/.', '/share/x/', 'a trailing `.` leaves the directory'],
    ['/', '/', 'root'],
    ['/a/..', '/', 'back to root'],
    ['/SHARE/x', '/SHARE/x', 'keeps case: paths are case-sensitive'],
    ['/share/x?/../../admin', '/share/x', 'cuts the query before resolving dot segments'],
    ['/share/x#/../admin', '/share/x', 'cuts the fragment before resolving dot segments'],
    ['/share/x#a?b', '/share/x', 'cuts at whichever of `#` and `?` comes first'],
    ['/share;x/../admin', '/admin', '`;` parameters are literal: `share;x` is one segment, `..` pops it'],
    ['/share;x/y', '/share;x/y', '`;` stays in its segment'],
    ['/%7Euser/%41bc', '/~user/Abc', 'decodes unreserved escapes'],
    ['/a%3fb', '/a%3Fb', 'keeps reserved escapes, upper-cases their hex'],
    ['/a%3Bb', '/a%3Bb', 'keeps an encoded `;` encoded'],
    ['/a%25b', '/a%25b', 'keeps an encoded `%`'],
    ['/a b|c', '/a%20b%7Cc', 'encodes characters that may not appear raw'],
    ['/caf\u00c3\u00a9', '/caf%C3%A9', 'takes U+0080..U+00FF as raw bytes (latin1 header decoding)'],
    ["/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,=", 'keeps pchar characters raw'],
  ])('%s → %s (%s)', (raw, expected) => {
    expect(canonicalisePath(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['/share%2fadmin', 'an encoded `/`'],
    ['/share%2Fadmin', 'an encoded `/` in upper case'],
    ['/share%5cadmin', 'an encoded `\\`'],
    ['/share\\..\\admin', 'a raw `\\`'],
    ['/share/%00', 'an encoded NUL'],
    ['/share/%0d%0aX-Injected:1', 'encoded control characters'],
    ['/share/\u0000', 'a raw NUL'],
    ['/share/\t', 'a raw control character'],
    ['/share/\u007f', 'a raw DEL'],
    ['/share/%zz', 'an invalid escape'],
    ['/share/%4', 'a truncated escape'],
    ['/share/%', 'a lone `%`'],
    ['/..', 'a `..` above the root'],
    ['/share/../../admin', 'a `..` that climbs above the root later'],
    ['/%2e%2e/admin', 'an encoded `..` above the root'],
    ['/share/..;/admin', 'a `..;` dot segment with parameters (Tomcat reads it as `..`)'],
    ['/share/.;x/admin', 'a `.;` dot segment with parameters'],
    ['/share/..%3B/admin', 'a `..%3B` dot segment with encoded parameters'],
    ['/share/%2e%2e;/admin', 'an encoded `..;`'],
    ['share/x', 'a path without a leading `/`'],
    ['', 'an empty path'],
    ['?x=1', 'only a query'],
    ['http://evil.example/x', 'absolute-form'],
    ['*', 'asterisk-form'],
    ['/caf\u00e9\u4e2d', 'a character above U+00FF'],
  ])('%s is refused (%s)', (raw) => {
    expect(canonicalisePath(raw)).toEqual({ ok: false, reason: 'ambiguous path' });
  });
});

describe('canonicaliseHost', () => {
  it.each([
    ['Share.Example.COM', 'share.example.com', 'lower-cases'],
    ['share.example.com.', 'share.example.com', 'removes a trailing dot'],
    ['share.example.com:443', 'share.example.com', 'removes :443'],
    ['share.example.com:80', 'share.example.com', 'removes :80'],
    ['share.example.com:8443', 'share.example.com', 'keeps any other port off the host (ports are not matched)'],
    ['SHARE.example.com.:443', 'share.example.com', 'trailing dot and port together'],
    ['bücher.example.com', 'xn--bcher-kva.example.com', 'IDN to punycode'],
    ['BÜCHER.example.com', 'xn--bcher-kva.example.com', 'upper-case IDN to punycode'],
    ['xn--bcher-kva.example.com', 'xn--bcher-kva.example.com', 'punycode stays'],
    ['192.168.1.5', '192.168.1.5', 'IPv4 literal'],
    ['192.168.1.5:8080', '192.168.1.5', 'IPv4 literal with port'],
    ['[::1]', '[::1]', 'IPv6 literal'],
    ['[0:0:0:0:0:0:0:1]:443', '[::1]', 'IPv6 literal, compressed, port removed'],
    ['[2001:DB8::1]', '[2001:db8::1]', 'IPv6 literal lower-cased'],
    ['my_service', 'my_service', 'single-label name with underscore (Docker)'],
    ['\uff41\uff50\uff50.example.com', 'app.example.com', 'full-width letters are mapped by IDNA'],
    ['\u212Aelvin.example.com', 'kelvin.example.com', 'the Kelvin sign lower-cases to k'],
  ])('%s → %s (%s)', (raw, expected) => {
    expect(canonicaliseHost(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['.', 'a lone dot'],
    ['example.com..', 'two trailing dots'],
    ['a..example.com', 'an empty label'],
    ['ex%61mple.com', 'percent-escapes (WHATWG would decode them)'],
    ['user@example.com', 'user-info'],
    ['a.example.com, b.example.com', 'several values'],
    ['example.com:', 'an empty port'],
    ['example.com:0', 'port 0'],
    ['example.com:65536', 'a port above 65535'],
    ['example.com:https', 'a non-numeric port'],
    ['::1', 'unbracketed IPv6'],
    ['[::1', 'an unclosed bracket'],
    ['[::1]x', 'garbage after the bracket'],
    ['[fe80::1%25eth0]', 'an IPv6 zone'],
    ['[not-v6]', 'a bracketed non-address'],
    ['0x7f.1', 'hexadecimal IPv4 (a browser would rewrite it to 127.0.0.1)'],
    ['2130706433', 'integer IPv4'],
    ['010.0.0.1', 'IPv4 with a leading zero'],
    ['a.123', 'a numeric last label'],
    ['-bad.example.com', 'a label starting with `-`'],
    ['a b.example.com', 'a space'],
    ['exa/mple.com', 'a slash'],
    ['xn--zz.example.com', 'invalid punycode'],
    ['\uff10x7f.1', 'full-width hexadecimal IPv4'],
    ['b\u00fccher\u3000.example.com', 'an ideographic space'],
    ['a'.repeat(64) + '.example.com', 'a label longer than 63'],
    [('a'.repeat(60) + '.').repeat(5) + 'com', 'a name longer than 253'],
  ])('%s is refused (%s)', (raw) => {
    expect(canonicaliseHost(raw)).toEqual({ ok: false, reason: 'invalid host' });
  });
});

describe('canonicaliseTarget', () => {
  it('canonicalises host, path and method together', () => {
    expect(canonicaliseTarget({ host: 'Share.Example.com:443', rawPath: '/share/%2e%2e/admin?x=1', method: 'post' })).toEqual({
      ok: true,
      host: 'share.example.com',
      path: '/admin',
      method: 'POST',
    });
  });

  it.each([
    [{ host: 'exa mple.com', rawPath: '/', method: 'GET' }, 'invalid host'],
    [{ host: 'example.com', rawPath: '/a%2fb', method: 'GET' }, 'ambiguous path'],
    [{ host: 'example.com', rawPath: '/', method: 'GE T' }, 'invalid method'],
    [{ host: 'example.com', rawPath: '/', method: '' }, 'invalid method'],
  ])('refuses %j with "%s"', (input, reason) => {
    expect(canonicaliseTarget(input)).toEqual({ ok: false, reason });
  });
});
