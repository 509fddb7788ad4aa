import { describe, expect, it } from 'vitest';
import { compileAccess } from '../../src/access/schema.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { compileTrustedProxies, isTrustedProxyEntry } from '../../src/http/trusted-proxies.js';
import { parseAddress, parseCidr, rangeContains, rangeCovers, type IpRange } from '../../src/net/cidr.js';

/** One written range, parsed and checked to be valid. */
function ranges(text: string): readonly IpRange[] {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.problem}`);
  return parsed.ranges;
}

const contains = (cidr: string, ip: string): boolean => {
  const address = parseAddress(ip);
  return address !== undefined && ranges(cidr).some((range) => rangeContains(range, address));
};

describe('parseCidr: what is a range', () => {
  it.each([
    ['192.168.1.0/24', 'an IPv4 network'],
    ['10.0.0.1', 'one IPv4 address (a /32)'],
    ['0.0.0.0/0', 'all of IPv4'],
    ['255.255.255.255/32', 'the last IPv4 address'],
    ['fd00::/8', 'an IPv6 network'],
    ['::1', 'one IPv6 address (a /128)'],
    ['2001:DB8::/32', 'upper-case IPv6'],
    ['::ffff:192.168.0.0/112', 'an IPv4-mapped network'],
    ['::/0', 'all of IPv6'],
  ])('%s is valid: %s', (text) => {
    expect(parseCidr(text).ok).toBe(true);
  });

  it.each([
    ['192.168.300.0/24', 'an octet out of range'],
    ['0x7f.1/8', 'hex and short forms'],
    ['127.1', 'the short form'],
    ['0177.0.0.1', 'octal'],
    ['010.0.0.0/8', 'a leading zero'],
    ['2130706433', 'one integer'],
    ['10.0.0.0/08', 'a prefix with a leading zero'],
    ['10.0.0.0/', 'an empty prefix'],
    ['10.0.0.0/33', 'a prefix longer than 32'],
    ['::/129', 'a prefix longer than 128'],
    ['1.2.3.4/40', 'an IPv4 prefix past 32'],
    ['fe80::/10%eth0', 'a zone id after the prefix'],
    ['fe80::%eth0/10', 'a zone id'],
    ['::1.2.3.4', 'the deprecated IPv4-compatible form'],
    ['1.2.3.4:80', 'a port'],
    ['[::1]', 'brackets'],
    [' 10.0.0.0/8', 'surrounding space'],
    ['example.com', 'a host name'],
    ['', 'nothing'],
  ])('%j is refused: %s', (text) => {
    expect(parseCidr(text)).toEqual({ ok: false, hostBits: false, problem: `is not a valid CIDR or IP address: '${text}'` });
  });
});

describe('parseCidr: host bits are refused everywhere, with the network to write instead', () => {
  it.each([
    ['10.0.0.5/8', '10.0.0.0/8'],
    ['192.168.1.5/24', '192.168.1.0/24'],
    ['172.17.0.1/16', '172.17.0.0/16'],
    ['10.0.0.1/0', '0.0.0.0/0'],
    ['fd00::1/8', 'fd00::/8'],
    ['2001:db8::1/32', '2001:db8::/32'],
    ['::ffff:10.0.0.5/104', '::ffff:10.0.0.0/104'],
  ])('%s: the network is %s', (text, network) => {
    expect(parseCidr(text)).toEqual({ ok: false, hostBits: true, problem: `has host bits set: '${text}' (the network is ${network})` });
  });

  it('in server.trusted_proxies, naming the key', () => {
    expect(() => parseConfig({ server: { trusted_proxies: ['loopback', '10.0.0.5/8'] } })).toThrow(
      new ConfigError(["server.trusted_proxies[1] has host bits set: '10.0.0.5/8' (the network is 10.0.0.0/8), got '10.0.0.5/8'"]),
    );
    expect(isTrustedProxyEntry('10.0.0.5/8')).toBe(false);
    expect(() => compileTrustedProxies(['10.0.0.5/8'])).toThrow("trusted proxy has host bits set: '10.0.0.5/8' (the network is 10.0.0.0/8)");
  });

  it('in access.networks and access.rules[].networks, naming the key', () => {
    expect(compileAccess({ networks: { lan: ['10.0.0.5/8'] }, rules: [{ networks: ['fd00::1/8'], policy: 'bypass' }] }, 'example.com').problems).toEqual([
      "access.networks.lan[0] has host bits set: '10.0.0.5/8' (the network is 10.0.0.0/8)",
      "access.rules[0].networks[0] has host bits set: 'fd00::1/8' (the network is fd00::/8)",
    ]);
  });

  it('the trusted proxies and the access rules accept and refuse the same entries', () => {
    const entries = ['10.0.0.0/8', '10.0.0.5/8', '::ffff:10.0.0.0/104', '0x7f.1', '10.0.0.0/08', 'fd00::/8', 'fd00::1/8', '::1.2.3.4', '::/0'];
    for (const entry of entries) {
      const access = compileAccess({ rules: [{ networks: [entry], policy: 'bypass' }] }, 'example.com');
      expect({ entry, trusted: isTrustedProxyEntry(entry) }).toEqual({ entry, trusted: access.problems.length === 0 });
    }
  });
});

describe('rangeContains: the trusted proxies and the access rules match alike', () => {
  const cases: Array<[string, string, boolean]> = [
    ['10.0.0.0/8', '10.255.0.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::FFFF:10.1.2.3', true],
    ['10.0.0.0/8', '::ffff:a01:203', true],
    ['::ffff:10.0.0.0/104', '10.1.2.3', true],
    ['203.0.113.0/25', '203.0.113.127', true],
    ['203.0.113.0/25', '203.0.113.128', false],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::/0', '2001:db8::1', true],
    // Mapped addresses are IPv4 addresses, and ::/0 holds the whole mapped block.
    ['::/0', '203.0.113.5', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['::1', '::1', true],
    ['::1', '::2', false],
    // The tested address is parsed as strictly as any other.
    ['127.0.0.0/8', '127.1', false],
    ['127.0.0.0/8', '0x7f.0.0.1', false],
    ['127.0.0.0/8', '::127.0.0.1', false],
    ['127.0.0.0/8', '', false],
  ];
  it.each(cases)('%s contains %j: %s', (cidr, ip, expected) => {
    expect(contains(cidr, ip)).toBe(expected);
    expect(compileTrustedProxies([cidr])(ip)).toBe(expected);
  });
});

describe('rangeCovers', () => {
  it.each([
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.1.0.0/16', '10.0.0.0/8', false],
    ['10.0.0.0/8', '11.0.0.0/16', false],
    ['fd00::/8', 'fd12::/16', true],
    ['fd12::/16', 'fd00::/8', false],
    ['0.0.0.0/0', 'fd00::/8', false],
    ['::/0', '10.0.0.0/8', true],
  ])('%s covers %s: %s', (broad, narrow, expected) => {
    expect(ranges(narrow).every((n) => ranges(broad).some((b) => rangeCovers(b, n)))).toBe(expected);
  });
});
