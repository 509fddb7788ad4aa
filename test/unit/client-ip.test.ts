import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createClientIpResolver, type ClientIpHeader } from '../../src/http/client-ip.js';
import { compileTrustedProxies, isTrustedProxyEntry, parseIp } from '../../src/http/trusted-proxies.js';

// 10.0.0.0/8 and one IPv6 proxy are ours; 203.0.113.0/24 and 2001:db8::/32 are the Internet.
const TRUSTED = ['loopback', '10.0.0.0/8', '2001:db8:ffff::1'];

function resolver(header: ClientIpHeader, trusted: readonly string[] = TRUSTED) {
  const malformed: string[] = [];
  const resolve = createClientIpResolver({
    isTrusted: compileTrustedProxies(trusted),
    header,
    onMalformed: (entry) => malformed.push(entry),
  });
  return { resolve, malformed };
}

describe('parseIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::1', '::1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
  ])('%s is %s', (text, canonical) => {
    expect(parseIp(text)).toBe(canonical);
  });

  it.each([
    ['hex', '0x7f.1'],
    ['hex octet', '0x7f.0.0.1'],
    ['short form', '127.1'],
    ['three parts', '127.0.1'],
    ['octal', '0177.0.0.1'],
    ['leading zero', '127.000.0.1'],
    ['one integer', '2130706433'],
    ['octet out of range', '256.0.0.1'],
    ['with port', '1.2.3.4:80'],
    ['bracketed', '[::1]'],
    ['bracketed with port', '[::1]:443'],
    ['IPv4-compatible (deprecated)', '::1.2.3.4'],
    ['embedded octal', '::ffff:0177.0.0.1'],
    ['surrounding space', ' 1.2.3.4'],
    ['empty', ''],
    ['garbage', 'nonsense'],
    ['unknown', 'unknown'],
    ['hostname', 'localhost'],
    ['CIDR', '10.0.0.0/8'],
  ])('refuses %s: %s', (_name, text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});

describe('compileTrustedProxies', () => {
  const cases: Array<[string[], string, boolean]> = [
    [['loopback'], '127.0.0.1', true],
    [['loopback'], '127.255.0.9', true],
    [['loopback'], '::1', true],
    [['loopback'], '::ffff:127.0.0.1', true],
    [['loopback'], '::FFFF:127.0.0.1', true],
    [['loopback'], '::ffff:7f00:1', true],
    [['loopback'], '::ffff:8000:1', false],
    [['loopback'], '::127.0.0.1', false],
    [['loopback'], '::2', false],
    [['loopback'], '128.0.0.1', false],
    [['private'], '10.1.2.3', true],
    [['private'], '172.16.0.1', true],
    [['private'], '172.31.255.255', true],
    [['private'], '172.32.0.1', false],
    [['private'], '192.168.1.1', true],
    [['private'], '169.254.169.254', true],
    [['private'], 'fd12:3456::1', true],
    [['private'], 'fe80::1', true],
    [['private'], '::ffff:10.0.0.1', true],
    [['private'], '127.0.0.1', false],
    [['private'], '8.8.8.8', false],
    [['private'], '2001:db8::1', false],
    [['docker'], '172.17.0.2', true],
    [['docker'], '192.168.1.1', false],
    [['192.0.2.7'], '192.0.2.7', true],
    [['192.0.2.7'], '192.0.2.8', false],
    [['192.0.2.0/24'], '192.0.2.200', true],
    [['2001:db8::/32'], '2001:db8:1::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    // Mapped entries are IPv4 entries, mapped addresses are IPv4 addresses.
    [['::ffff:192.0.2.7'], '192.0.2.7', true],
    [['::ffff:192.0.2.0/120'], '::ffff:192.0.2.9', true],
    [['::ffff:192.0.2.0/120'], '192.0.3.9', false],
    [['0.0.0.0/0'], '203.0.113.5', true],
    [['203.0.113.0/25'], '203.0.113.127', true],
    [['203.0.113.0/25'], '203.0.113.128', false],
    [['255.255.255.255/32'], '255.255.255.255', true],
    [['128.0.0.0/1'], '200.1.1.1', true],
    [['128.0.0.0/1'], '127.255.255.255', false],
    [['0.0.0.0/0'], '2001:db8::1', false],
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '203.0.113.5', true],
    // The tested address is parsed as strictly as any other.
    [['loopback'], '0x7f.1', false],
    [['loopback'], '127.1', false],
    [['loopback'], '2130706433', false],
    [['loopback'], '', false],
    [['loopback'], 'garbage', false],
    [[], '127.0.0.1', false],
  ];
  it.each(cases)('%j trusts %s: %s', (entries, ip, expected) => {
    expect(compileTrustedProxies(entries)(ip)).toBe(expected);
  });

  it.each(['0x7f.1', '127.1', '10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/', '::/129', 'example.com', 'Loopback', 'toString', '', '1.2.3.4:80'])(
    'throws on the invalid entry %j',
    (entry) => {
      expect(() => compileTrustedProxies(['loopback', entry])).toThrow(`trusted proxy '${entry}' is not an address`);
      expect(isTrustedProxyEntry(entry)).toBe(false);
    },
  );

  it('accepts what it compiles', () => {
    for (const entry of ['loopback', 'private', 'docker', '10.0.0.1', '10.0.0.0/8', '::1', 'fc00::/7', '::ffff:10.0.0.0/104']) {
      expect(isTrustedProxyEntry(entry)).toBe(true);
    }
  });
});

describe('createClientIpResolver', () => {
  interface Case {
    name: string;
    header?: ClientIpHeader;
    peer: string;
    headers?: IncomingHttpHeaders;
    ip: string;
    trustedPeer: boolean;
    malformed?: string[];
  }

  const cases: Case[] = [
    // The peer alone.
    { name: 'IPv4 peer, no header', peer: '203.0.113.5', ip: '203.0.113.5', trustedPeer: false },
    { name: 'IPv6 peer is canonicalised', peer: '2001:DB8:0::5', ip: '2001:db8::5', trustedPeer: false },
    { name: 'mapped peer is IPv4', peer: '::ffff:203.0.113.5', ip: '203.0.113.5', trustedPeer: false },
    { name: 'trusted peer, no header', peer: '127.0.0.1', ip: '127.0.0.1', trustedPeer: true },
    { name: 'mapped trusted peer', peer: '::ffff:127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5' }, ip: '203.0.113.5', trustedPeer: true },
    { name: 'unparsable peer is kept and not trusted', peer: '', headers: { 'x-forwarded-for': '203.0.113.5' }, ip: '', trustedPeer: false },

    // An untrusted peer's headers are never read.
    {
      name: 'untrusted peer with a spoofed X-Forwarded-For',
      peer: '203.0.113.5',
      headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1' },
      ip: '203.0.113.5',
      trustedPeer: false,
    },
    { name: 'untrusted peer, spoofed X-Real-IP', header: 'x-real-ip', peer: '203.0.113.5', headers: { 'x-real-ip': '10.0.0.1' }, ip: '203.0.113.5', trustedPeer: false },
    { name: 'untrusted peer, spoofed Forwarded', header: 'forwarded', peer: '203.0.113.5', headers: { forwarded: 'for=10.0.0.1' }, ip: '203.0.113.5', trustedPeer: false },
    {
      name: 'untrusted peer, spoofed CF-Connecting-IP',
      header: 'cf-connecting-ip',
      peer: '203.0.113.5',
      headers: { 'cf-connecting-ip': '198.51.100.1' },
      ip: '203.0.113.5',
      trustedPeer: false,
    },

    // X-Forwarded-For, walked from the right.
    { name: 'one hop', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5' }, ip: '203.0.113.5', trustedPeer: true },
    { name: 'IPv6 client', peer: '10.0.0.1', headers: { 'x-forwarded-for': '2001:DB8::7' }, ip: '2001:db8::7', trustedPeer: true },
    { name: 'IPv6 trusted hop', peer: '::1', headers: { 'x-forwarded-for': '203.0.113.5, 2001:db8:ffff::1' }, ip: '203.0.113.5', trustedPeer: true },
    {
      name: 'several trusted hops',
      peer: '10.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.5, 10.0.0.3, ::ffff:10.0.0.2' },
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    {
      name: 'client-supplied entries left of the client are ignored',
      peer: '10.0.0.1',
      headers: { 'x-forwarded-for': '127.0.0.1, 198.51.100.9, 203.0.113.5, 10.0.0.2' },
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    { name: 'all trusted: the left-most', peer: '10.0.0.1', headers: { 'x-forwarded-for': '10.0.0.9, 10.0.0.8, 127.0.0.1' }, ip: '10.0.0.9', trustedPeer: true },
    { name: 'no spaces', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5,10.0.0.2' }, ip: '203.0.113.5', trustedPeer: true },
    { name: 'header undefined means XFF', header: undefined, peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5' }, ip: '203.0.113.5', trustedPeer: true },
    { name: 'explicit x-forwarded-for', header: 'x-forwarded-for', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5' }, ip: '203.0.113.5', trustedPeer: true },
    {
      name: 'XFF ignored when another header is configured',
      header: 'x-real-ip',
      peer: '10.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.5' },
      ip: '10.0.0.1',
      trustedPeer: true,
    },
    {
      // Node joins repeated header lines with ', '; the last line is the nearest proxy's.
      name: 'multiple header lines, joined by Node',
      peer: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.5, 10.0.0.3' },
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    {
      name: 'multiple header lines, headersDistinct-style',
      peer: '10.0.0.1',
      headers: { 'x-forwarded-for': ['198.51.100.9', '203.0.113.5, 10.0.0.4', '10.0.0.3'] },
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    {
      name: 'headersDistinct-style, all trusted',
      peer: '10.0.0.1',
      headers: { 'x-forwarded-for': ['10.0.0.5', '10.0.0.4, 10.0.0.3'] },
      ip: '10.0.0.5',
      trustedPeer: true,
    },
    { name: 'empty array', peer: '10.0.0.1', headers: { 'x-forwarded-for': [] }, ip: '10.0.0.1', trustedPeer: true },

    // Malformed entries end the walk at the last trusted address.
    { name: 'garbage right of the client', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5, nonsense' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['nonsense'] },
    {
      name: 'garbage behind a trusted hop',
      peer: '10.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.5, bogus, 10.0.0.2' },
      ip: '10.0.0.2',
      trustedPeer: true,
      malformed: ['bogus'],
    },
    { name: 'garbage left of the client is never read', peer: '10.0.0.1', headers: { 'x-forwarded-for': 'bogus, 203.0.113.5' }, ip: '203.0.113.5', trustedPeer: true },
    { name: 'port', peer: '10.0.0.1', headers: { 'x-forwarded-for': '1.2.3.4:80' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['1.2.3.4:80'] },
    { name: 'brackets', peer: '10.0.0.1', headers: { 'x-forwarded-for': '[::1]' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['[::1]'] },
    { name: 'brackets and port', peer: '10.0.0.1', headers: { 'x-forwarded-for': '[2001:db8::1]:443' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['[2001:db8::1]:443'] },
    { name: 'hex IPv4', peer: '10.0.0.1', headers: { 'x-forwarded-for': '0x7f.1' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['0x7f.1'] },
    { name: 'short IPv4', peer: '10.0.0.1', headers: { 'x-forwarded-for': '127.1' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['127.1'] },
    { name: 'octal IPv4', peer: '10.0.0.1', headers: { 'x-forwarded-for': '0177.0.0.1' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['0177.0.0.1'] },
    { name: 'integer IPv4', peer: '10.0.0.1', headers: { 'x-forwarded-for': '2130706433' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['2130706433'] },
    { name: 'empty header', peer: '10.0.0.1', headers: { 'x-forwarded-for': '' }, ip: '10.0.0.1', trustedPeer: true, malformed: [''] },
    { name: 'empty entry between hops', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5, , 10.0.0.2' }, ip: '10.0.0.2', trustedPeer: true, malformed: [''] },
    { name: 'trailing comma', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5,' }, ip: '10.0.0.1', trustedPeer: true, malformed: [''] },
    { name: 'leading comma, all trusted', peer: '10.0.0.1', headers: { 'x-forwarded-for': ',10.0.0.2' }, ip: '10.0.0.2', trustedPeer: true, malformed: [''] },
    { name: 'two addresses in one entry', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5 10.0.0.2' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['203.0.113.5 10.0.0.2'] },

    // Forwarded (RFC 7239).
    { name: 'Forwarded: one element', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=203.0.113.5' }, ip: '203.0.113.5', trustedPeer: true },
    {
      name: 'Forwarded: other parameters',
      header: 'forwarded',
      peer: '10.0.0.1',
      headers: { forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43' },
      ip: '192.0.2.60',
      trustedPeer: true,
    },
    { name: 'Forwarded: parameter names are case-insensitive', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'For=192.0.2.60' }, ip: '192.0.2.60', trustedPeer: true },
    { name: 'Forwarded: quoted IPv4', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="192.0.2.60"' }, ip: '192.0.2.60', trustedPeer: true },
    { name: 'Forwarded: quoted IPv4 with port', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="192.0.2.60:8080"' }, ip: '192.0.2.60', trustedPeer: true },
    {
      name: 'Forwarded: bracketed IPv6 with port',
      header: 'forwarded',
      peer: '10.0.0.1',
      headers: { forwarded: 'for="[2001:db8:cafe::17]:4711"' },
      ip: '2001:db8:cafe::17',
      trustedPeer: true,
    },
    { name: 'Forwarded: bracketed IPv6', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="[2001:db8::1]"' }, ip: '2001:db8::1', trustedPeer: true },
    { name: 'Forwarded: bare IPv6 (nginx for=$remote_addr)', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=2001:db8::1' }, ip: '2001:db8::1', trustedPeer: true },
    { name: 'Forwarded: obfuscated port', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="192.0.2.60:_abc"' }, ip: '192.0.2.60', trustedPeer: true },
    {
      name: 'Forwarded: multiple header lines, joined by Node',
      header: 'forwarded',
      peer: '10.0.0.1',
      headers: { forwarded: 'for=198.51.100.9, for=203.0.113.5, for=10.0.0.2;proto=https' },
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    {
      name: 'Forwarded: several elements, trusted ones skipped',
      header: 'forwarded',
      peer: '10.0.0.1',
      headers: { forwarded: 'for=198.51.100.9, for=203.0.113.5;proto=https, for="[2001:db8:ffff::1]";by=10.0.0.1, for=10.0.0.2' },
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    {
      // @types/node types `forwarded` as a string; req.headersDistinct gives every header as an array.
      name: 'Forwarded: multiple header lines, headersDistinct-style',
      header: 'forwarded',
      peer: '10.0.0.1',
      headers: { forwarded: ['for=198.51.100.9', 'for=203.0.113.5', 'for=10.0.0.2;proto=https'] } as unknown as IncomingHttpHeaders,
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    { name: 'Forwarded: all trusted', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=10.0.0.3, for=10.0.0.2' }, ip: '10.0.0.3', trustedPeer: true },
    { name: 'Forwarded: for=unknown ends the walk', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=203.0.113.5, for=unknown, for=10.0.0.2' }, ip: '10.0.0.2', trustedPeer: true },
    { name: 'Forwarded: quoted unknown', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="unknown"' }, ip: '10.0.0.1', trustedPeer: true },
    { name: 'Forwarded: obfuscated identifier ends the walk', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=203.0.113.5, for=_hidden' }, ip: '10.0.0.1', trustedPeer: true },
    { name: 'Forwarded: element without for ends the walk', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=203.0.113.5, proto=https' }, ip: '10.0.0.1', trustedPeer: true },
    {
      name: 'Forwarded: for twice in one element',
      header: 'forwarded',
      peer: '10.0.0.1',
      headers: { forwarded: 'for=203.0.113.5;for=198.51.100.9' },
      ip: '10.0.0.1',
      trustedPeer: true,
      malformed: ['for=203.0.113.5;for=198.51.100.9'],
    },
    { name: 'Forwarded: unquoted port', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=192.0.2.60:80' }, ip: '192.0.2.60', trustedPeer: true },
    { name: 'Forwarded: bad port', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="192.0.2.60:http"' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['for="192.0.2.60:http"'] },
    { name: 'Forwarded: bracketed IPv4', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="[192.0.2.60]"' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['for="[192.0.2.60]"'] },
    { name: 'Forwarded: unclosed bracket', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="[2001:db8::1"' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['for="[2001:db8::1"'] },
    { name: 'Forwarded: unclosed quote', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for="192.0.2.60' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['for="192.0.2.60'] },
    { name: 'Forwarded: hex address', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=0x7f.1' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['for=0x7f.1'] },
    { name: 'Forwarded: empty value', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['for='] },
    { name: 'Forwarded: empty element', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: 'for=203.0.113.5, , for=10.0.0.2' }, ip: '10.0.0.2', trustedPeer: true, malformed: [''] },
    { name: 'Forwarded: not a pair', header: 'forwarded', peer: '10.0.0.1', headers: { forwarded: '203.0.113.5' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['203.0.113.5'] },
    {
      // A quote the client leaves open must not swallow what our proxy appended after it.
      name: 'Forwarded: a client-opened quote does not hide the proxy-appended element',
      header: 'forwarded',
      peer: '10.0.0.1',
      headers: { forwarded: 'for="x, for=203.0.113.5' },
      ip: '203.0.113.5',
      trustedPeer: true,
    },
    { name: 'Forwarded: XFF is not read', header: 'forwarded', peer: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5' }, ip: '10.0.0.1', trustedPeer: true },

    // Single-address headers, from a trusted peer only.
    { name: 'X-Real-IP from a trusted peer', header: 'x-real-ip', peer: '10.0.0.1', headers: { 'x-real-ip': '203.0.113.5' }, ip: '203.0.113.5', trustedPeer: true },
    { name: 'X-Real-IP is taken even when trusted', header: 'x-real-ip', peer: '10.0.0.1', headers: { 'x-real-ip': '10.0.0.7' }, ip: '10.0.0.7', trustedPeer: true },
    { name: 'X-Real-IP IPv6', header: 'x-real-ip', peer: '10.0.0.1', headers: { 'x-real-ip': ' 2001:DB8::9 ' }, ip: '2001:db8::9', trustedPeer: true },
    { name: 'X-Real-IP missing', header: 'x-real-ip', peer: '10.0.0.1', headers: {}, ip: '10.0.0.1', trustedPeer: true },
    { name: 'X-Real-IP garbage', header: 'x-real-ip', peer: '10.0.0.1', headers: { 'x-real-ip': 'garbage' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['garbage'] },
    { name: 'X-Real-IP with port', header: 'x-real-ip', peer: '10.0.0.1', headers: { 'x-real-ip': '203.0.113.5:80' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['203.0.113.5:80'] },
    {
      name: 'X-Real-IP repeated (joined by Node)',
      header: 'x-real-ip',
      peer: '10.0.0.1',
      headers: { 'x-real-ip': '203.0.113.5, 198.51.100.9' },
      ip: '10.0.0.1',
      trustedPeer: true,
      malformed: ['203.0.113.5, 198.51.100.9'],
    },
    { name: 'X-Real-IP as a one-line array', header: 'x-real-ip', peer: '10.0.0.1', headers: { 'x-real-ip': ['203.0.113.5'] }, ip: '203.0.113.5', trustedPeer: true },
    {
      name: 'X-Real-IP as a two-line array',
      header: 'x-real-ip',
      peer: '10.0.0.1',
      headers: { 'x-real-ip': ['203.0.113.5', '198.51.100.9'] },
      ip: '10.0.0.1',
      trustedPeer: true,
      malformed: ['203.0.113.5, 198.51.100.9'],
    },
    {
      name: 'CF-Connecting-IP from a trusted peer',
      header: 'cf-connecting-ip',
      peer: '10.0.0.1',
      headers: { 'cf-connecting-ip': '198.51.100.1', 'x-real-ip': '203.0.113.5' },
      ip: '198.51.100.1',
      trustedPeer: true,
    },
    { name: 'CF-Connecting-IP hex', header: 'cf-connecting-ip', peer: '10.0.0.1', headers: { 'cf-connecting-ip': '0x7f.1' }, ip: '10.0.0.1', trustedPeer: true, malformed: ['0x7f.1'] },
  ];

  it.each(cases)('$name', ({ header, peer, headers, ip, trustedPeer, malformed }) => {
    const r = resolver(header);
    expect(r.resolve(peer, headers ?? {})).toEqual({ ip, trustedPeer });
    expect(r.malformed).toEqual(malformed ?? []);
  });

  it.each([
    ['loopback', '127.0.0.1', true],
    ['loopback', '::1', true],
    ['loopback', '10.0.0.1', false],
    ['private', '10.0.0.1', true],
    ['private', '192.168.0.10', true],
    ['private', 'fd00::1', true],
    ['private', '127.0.0.1', false],
    ['docker', '172.18.0.1', true],
    ['docker', '10.0.0.1', false],
  ])('the name %s, peer %s: trusted %s', (name, peer, trusted) => {
    const r = resolver(undefined, [name]);
    const result = r.resolve(peer, { 'x-forwarded-for': '203.0.113.5' });
    expect(result).toEqual({ ip: trusted ? '203.0.113.5' : peer, trustedPeer: trusted });
  });

  it('refuses a header it does not know instead of reading X-Forwarded-For', () => {
    const isTrusted = compileTrustedProxies(['loopback']);
    expect(() => createClientIpResolver({ isTrusted, header: 'X-Real-IP' as ClientIpHeader })).toThrow(
      "client_ip_header 'X-Real-IP' is not one of: x-forwarded-for, forwarded, x-real-ip, cf-connecting-ip",
    );
  });

  it('never throws, and works without onMalformed', () => {
    const resolve = createClientIpResolver({ isTrusted: compileTrustedProxies(['loopback']), header: 'forwarded' });
    for (const forwarded of ['', ',', ';', '=', '"', 'for="', 'for=[', 'for="[]"', 'for="[]:"', 'for=_', 'a=b=c', '\u0000', 'for="\\"1.2.3.4"']) {
      expect(() => resolve('127.0.0.1', { forwarded })).not.toThrow();
      expect(resolve('127.0.0.1', { forwarded }).ip).toBe('127.0.0.1');
    }
  });
});

describe('the same chain asked again', () => {
  it('gives the same client every time, and reports a malformed hop every time it is sent', () => {
    const { resolve, malformed } = resolver('x-forwarded-for');
    for (let i = 0; i < 3; i++) {
      expect(resolve('10.0.0.5', { 'x-forwarded-for': '203.0.113.7, 10.1.2.3' })).toEqual({ ip: '203.0.113.7', trustedPeer: true });
      expect(resolve('10.0.0.5', { 'x-forwarded-for': '203.0.113.9, nonsense' })).toEqual({ ip: '10.0.0.5', trustedPeer: true });
      expect(resolve('203.0.113.50', { 'x-forwarded-for': '10.9.9.9' })).toEqual({ ip: '203.0.113.50', trustedPeer: false });
    }
    expect(malformed).toEqual(['nonsense', 'nonsense', 'nonsense']);
  });
});
