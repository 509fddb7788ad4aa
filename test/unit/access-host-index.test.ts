import { describe, expect, it } from 'vitest';
import { matchTarget } from '../../src/access/decide.js';
import { hostMatches, rulesForHost, type CompiledAccess, type CompiledRule } from '../../src/access/rules.js';
import { compileAccess } from '../../src/access/schema.js';
import { canonicaliseTarget } from '../../src/access/target.js';

// The host index (rules.ts HostIndex) lets verify try only the rules that can match a request's
// host. These tables pin that first match wins exactly as it did over the whole list.

/** Rules that interleave exact hosts, nested wildcards and rules without hosts. */
const RULES = {
  default_policy: 'deny',
  rules: [
    { paths: ['/health'], policy: 'bypass' }, // 0: any host
    { hosts: ['*.example.com'], paths: ['/public/**'], policy: 'bypass' }, // 1
    { hosts: ['photos.example.com'], paths: ['/share/**'], policy: 'bypass' }, // 2
    { hosts: ['*.lan.example.com'], networks: ['192.168.1.0/24'], policy: 'bypass' }, // 3
    { hosts: ['photos.example.com', 'nvr.lan.example.com'], policy: 'authenticated' }, // 4
    { methods: ['DELETE'], policy: 'deny' }, // 5: any host, after host rules
    { hosts: ['*.lan.example.com'], policy: 'deny' }, // 6
    { hosts: ['example.com'], policy: 'bypass' }, // 7: the bare domain, never `*.example.com`
    { hosts: ['*.example.com'], policy: 'authenticated' }, // 8
    { hosts: ['[::1]', '192.0.2.7'], policy: 'bypass' }, // 9: address hosts
    { paths: ['regex:^/api/v[0-9]+/status$'], policy: 'bypass' }, // 10: any host, regex path
  ],
};

function compiled(raw: unknown): CompiledAccess {
  const access = compileAccess(raw, 'example.com');
  expect(access.problems).toEqual([]);
  return access;
}

const access = compiled(RULES);

function ruleAt(url: string, method = 'GET', ip = '203.0.113.9'): number | 'default' | 'refused' {
  const slash = url.indexOf('/');
  const match = matchTarget(canonicaliseTarget({ host: url.slice(0, slash), rawPath: url.slice(slash), method }), ip, access);
  if (match.kind === 'refused') return 'refused';
  return match.rule?.index ?? 'default';
}

describe('first match wins over the host index as over the whole list', () => {
  it.each<[string, string, string, string, number | 'default' | 'refused']>([
    ['a rule without hosts, first in the list, applies to every host', 'photos.example.com/health', 'GET', '203.0.113.9', 0],
    ['… also to a host no rule names', 'unknown.example.com/health', 'GET', '203.0.113.9', 0],
    ['a wildcard before an exact rule wins for that exact host', 'photos.example.com/public/a', 'GET', '203.0.113.9', 1],
    ['the exact host rule applies where the wildcard one does not match', 'photos.example.com/share/x', 'GET', '203.0.113.9', 2],
    ['a rule listing two hosts applies to its second host', 'nvr.lan.example.com/', 'GET', '203.0.113.9', 4],
    ['a deeper wildcard and its network, before the exact rule', 'nvr.lan.example.com/', 'GET', '192.168.1.5', 3],
    ['an any-host rule between host rules keeps its place', 'photos.example.com/x', 'DELETE', '203.0.113.9', 4],
    ['… and comes before the later wildcard rules', 'tv.lan.example.com/x', 'DELETE', '203.0.113.9', 5],
    ['a host under two wildcards gets the deeper one first (rule order)', 'tv.lan.example.com/', 'GET', '203.0.113.9', 6],
    ['… and the shallower one where it comes first', 'tv.lan.example.com/public/x', 'GET', '203.0.113.9', 1],
    ['`*.example.com` never matches the bare domain', 'example.com/', 'GET', '203.0.113.9', 7],
    ['`*.example.com` matches any depth', 'a.b.c.example.com/', 'GET', '203.0.113.9', 8],
    ['`*.lan.example.com` does not match lan.example.com itself', 'lan.example.com/', 'GET', '203.0.113.9', 8],
    ['a host that only ends like a wildcard is not under it', 'notexample.com/', 'GET', '203.0.113.9', 'refused'],
    ['an IPv6 host rule', '[::1]/', 'GET', '203.0.113.9', 9],
    ['an IPv4 host rule', '192.0.2.7/', 'GET', '203.0.113.9', 9],
    ['a host no rule names reaches a regex path rule without hosts', 'other.test/api/v2/status', 'GET', '203.0.113.9', 10],
    ['… and is refused outside the protected domain otherwise', 'other.test/', 'GET', '203.0.113.9', 'refused'],
    ['hosts are matched canonically (case, trailing dot)', 'PHOTOS.Example.COM./share/x', 'GET', '203.0.113.9', 2],
  ])('%s', (_what, url, method, ip, expected) => {
    expect(ruleAt(url, method, ip)).toBe(expected);
  });

  it('without any host rule every host gets the whole list', () => {
    const noHosts = compiled({ rules: [{ paths: ['/a/**'], policy: 'bypass' }, { policy: 'authenticated' }] });
    expect(rulesForHost(noHosts.hostIndex, 'x.example.com')).toEqual(noHosts.rules);
  });

  it('without an access section there are no rules to try', () => {
    const none = compileAccess(undefined, 'example.com');
    expect(rulesForHost(none.hostIndex, 'x.example.com')).toEqual([]);
  });
});

describe('rulesForHost', () => {
  /** What the index must equal: every rule whose hosts criterion matches, in order. */
  const reference = (rules: readonly CompiledRule[], host: string): number[] =>
    rules.filter((rule) => rule.hosts === undefined || hostMatches(rule.hosts, host)).map((rule) => rule.index);

  const HOSTS = [
    'example.com', 'photos.example.com', 'PHOTOS.example.com', 'nvr.lan.example.com', 'tv.lan.example.com', 'lan.example.com',
    'a.b.c.example.com', 'x.lan.example.com.evil.test', 'example.com.evil.test', 'evilexample.com', '.example.com',
    'a..example.com', '[::1]', '192.0.2.7', '2.7', 'com', '', 'other.test',
  ];

  it.each(HOSTS)('is every rule hostMatches() lets through, in rule order, for %j', (host) => {
    expect(rulesForHost(access.hostIndex, host).map((rule) => rule.index)).toEqual(reference(access.rules, host));
  });

  it('is the same list for a thousand rules over many subdomains', () => {
    const rules: unknown[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) rules.push({ paths: [`/any-${i}/**`], policy: 'bypass' });
      else if (i % 10 === 0) rules.push({ hosts: [`*.zone${i % 7}.example.com`], policy: 'authenticated' });
      else rules.push({ hosts: [`app${i % 300}.zone${i % 7}.example.com`], paths: [`/p${i}/**`], policy: 'bypass' });
    }
    const big = compiled({ rules });
    for (const host of ['app5.zone5.example.com', 'app299.zone5.example.com', 'new.zone3.example.com', 'zone3.example.com', 'example.com', 'x.test']) {
      expect(rulesForHost(big.hostIndex, host).map((rule) => rule.index)).toEqual(reference(big.rules, host));
    }
    // Far fewer than all of them.
    expect(rulesForHost(big.hostIndex, 'app5.zone5.example.com').length).toBeLessThan(200);
  });
});
