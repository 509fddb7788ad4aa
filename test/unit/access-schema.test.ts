import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { accessSectionSchema, compileAccess } from '../../src/access/schema.js';

const EXAMPLE = {
  default_policy: 'deny',
  networks: { home: ['192.168.1.0/24', '10.8.0.0/24'] },
  rules: [
    { hosts: ['share.example.com'], paths: ['/share/**', '/api/shared-links/**', '/_app/**'], policy: 'bypass' },
    { hosts: ['share.example.com'], policy: 'deny' },
    { hosts: ['admin.example.com'], subjects: ['role:admin'], policy: 'authenticated' },
    { hosts: ['nvr.example.com'], subjects: ['role:admin', 'role:viewer'], policy: 'authenticated' },
    { hosts: ['*.example.com'], networks: ['home'], policy: 'bypass' },
    { hosts: ['*.example.com'], policy: 'authenticated' },
  ],
};

const problemsOf = (raw: unknown): readonly string[] => compileAccess(raw, 'example.com').problems;
const warningsOf = (raw: unknown): readonly string[] => compileAccess(raw, 'example.com').shadowWarnings;
const rule = (extra: Record<string, unknown>) => ({ rules: [{ policy: 'bypass', ...extra }] });

describe('compileAccess: valid configurations', () => {
  it('compiles the example without problems or warnings', () => {
    const access = compileAccess(EXAMPLE, 'example.com');
    expect(access.problems).toEqual([]);
    expect(access.shadowWarnings).toEqual([]);
    expect(access.rules).toHaveLength(6);
    expect(access.defaultPolicy).toBe('deny');
    expect(Object.isFrozen(access)).toBe(true);
    expect(Object.isFrozen(access.rules)).toBe(true);
  });

  it('an absent section means no rules and authenticated', () => {
    expect(compileAccess(undefined, 'example.com')).toMatchObject({ rules: [], defaultPolicy: 'authenticated', configured: false, problems: [] });
  });

  it('a present section defaults to deny', () => {
    expect(compileAccess({}, 'example.com')).toMatchObject({ rules: [], defaultPolicy: 'deny', configured: true, problems: [] });
  });

  it('accepts a leading dot on the protected domain', () => {
    expect(compileAccess(undefined, '.Example.COM').protectedDomain).toBe('example.com');
  });

  it('accepts IPv6 and bare addresses, and IPv4-mapped ranges as IPv4', () => {
    expect(problemsOf({ networks: { v6: ['fd00::/8', '::1', '::ffff:192.168.0.0/112'] }, rules: [{ networks: ['v6', '10.0.0.1'], policy: 'bypass' }] })).toEqual([]);
  });
});

describe('compileAccess: problems with dotted paths', () => {
  it.each<[string, unknown, string[]]>([
    [
      'an unknown network name',
      { networks: { home: ['192.168.1.0/24'] }, rules: [{ policy: 'deny' }, { policy: 'deny' }, { networks: ['hom'], policy: 'bypass' }] },
      ["access.rules[2].networks[0] names network 'hom', which is not defined under access.networks"],
    ],
    [
      'a bad regular expression',
      { rules: [{ policy: 'deny' }, { paths: ['regex:/api/(v1'], policy: 'bypass' }] },
      [expect.stringMatching(/^access\.rules\[1\]\.paths\[0\] is not a valid regular expression: .+/) as unknown as string],
    ],
    ['a bad CIDR in a rule', rule({ networks: ['10.0.0.0/33'] }), ["access.rules[0].networks[0] is not a valid CIDR or IP address: '10.0.0.0/33'"]],
    ['a bad CIDR under networks', { networks: { home: ['192.168.1.0/24', '192.168.300.0/24'] } }, ["access.networks.home[1] is not a valid CIDR or IP address: '192.168.300.0/24'"]],
    ['a non-decimal IPv4 address', { networks: { home: ['0x7f.1/8'] } }, ["access.networks.home[0] is not a valid CIDR or IP address: '0x7f.1/8'"]],
    ['host bits set', { networks: { home: ['192.168.1.5/24'] } }, ["access.networks.home[0] has host bits set: '192.168.1.5/24' (the network is 192.168.1.0/24)"]],
    ['subjects on a bypass rule', rule({ subjects: ['role:admin'] }), ["access.rules[0].subjects is only allowed on authenticated and two_factor rules, but this rule's policy is bypass"]],
    [
      'subjects on a deny rule',
      { rules: [{ subjects: ['role:admin'], policy: 'deny' }] },
      ["access.rules[0].subjects is only allowed on authenticated and two_factor rules, but this rule's policy is deny"],
    ],
    ['viewer_write on a bypass rule', rule({ viewer_write: true }), ["access.rules[0].viewer_write is only allowed on authenticated and two_factor rules, but this rule's policy is bypass"]],
    [
      'a malformed subject',
      { rules: [{ subjects: ['admin'], policy: 'authenticated' }] },
      ["access.rules[0].subjects[0] must be user:NAME, group:NAME or role:NAME, but it's configured as 'admin'"],
    ],
    ['an unknown policy', { rules: [{ policy: 'allow' }] }, ["access.rules[0].policy must be one of bypass, authenticated, two_factor, deny, but it's configured as 'allow'"]],
    ['a missing policy', { rules: [{ hosts: ['a.example.com'] }] }, ["access.rules[0].policy must be one of bypass, authenticated, two_factor, deny, but it's configured as nothing"]],
    ['an unknown key in a rule', rule({ path: ['/x'] }), ['access.rules[0].path is not a known key']],
    ['an unknown key in the section', { default: 'deny' }, ['access.default is not a known key']],
    ['an empty list', rule({ hosts: [] }), ['access.rules[0].hosts must list at least one value (leave the key out to match any)']],
    ['a string instead of a list', rule({ hosts: 'a.example.com' }), ["access.rules[0].hosts must be a list of host names, but it's configured as 'a.example.com'"]],
    ['a host with a port', rule({ hosts: ['a.example.com:8443'] }), ["access.rules[0].hosts[0] must not include a port: 'a.example.com:8443' (rules match host names only)"]],
    ['a bad wildcard', rule({ hosts: ['a.*.example.com'] }), ["access.rules[0].hosts[0] is not a valid host pattern: 'a.*.example.com' (use an exact name or '*.domain')"]],
    ['an invalid host', rule({ hosts: ['exa mple.com'] }), ["access.rules[0].hosts[0] is not a valid host name: 'exa mple.com'"]],
    ['a relative glob', rule({ paths: ['share/**'] }), ["access.rules[0].paths[0] must start with '/' (or be 'regex:…'), but it's configured as 'share/**'"]],
    ['a glob with a dot segment', rule({ paths: ['/share/../admin'] }), ["access.rules[0].paths[0] contains an empty, '.' or '..' segment and can never match a canonical path"]],
    ['a glob with an encoded slash', rule({ paths: ['/a%2Fb'] }), [expect.stringMatching(/^access\.rules\[0\]\.paths\[0\] is not a valid path pattern/) as unknown as string]],
    ['a bad method', rule({ methods: ['GE T'] }), ["access.rules[0].methods[0] is not a valid HTTP method: 'GE T'"]],
    ['a bad network name', { networks: { '1home': ['10.0.0.0/8'] } }, ['access.networks["1home"] is not a valid network name (letters, digits, \'_\' and \'-\', starting with a letter)']],
  ])('%s', (_name, raw, expected) => {
    expect(problemsOf(raw)).toEqual(expected);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      rules: [{ networks: ['hom'], policy: 'bypass' }, { paths: ['regex:('], policy: 'bypass' }, { networks: ['1.2.3.4/40'], subjects: ['role:x'], policy: 'deny' }],
    });
    expect(problems).toHaveLength(4);
  });

  it('reports an invalid protected domain', () => {
    expect(compileAccess(undefined, 'exa mple').problems).toEqual(["the protected domain 'exa mple' is not a valid host name"]);
  });
});

describe('accessSectionSchema in a larger schema', () => {
  const config = z.strictObject({ access: accessSectionSchema.optional() });

  it('reports compile problems as zod issues under access', () => {
    const result = config.safeParse({ access: { rules: [{ networks: ['hom'], policy: 'bypass' }] } });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['access', 'rules', 0, 'networks', 0], message: "names network 'hom', which is not defined under access.networks" }),
    ]);
  });

  it('applies the defaults', () => {
    expect(config.parse({ access: {} })).toEqual({ access: { default_policy: 'deny', networks: {}, rules: [] } });
  });
});

describe('shadow warnings', () => {
  it.each<[string, unknown[], string[]]>([
    [
      'a catch-all rule shadows everything after it',
      [{ policy: 'deny' }, { hosts: ['a.example.com'], policy: 'bypass' }],
      ['access.rules[1] can never match: access.rules[0] matches everything it would'],
    ],
    [
      'same hosts without narrowing',
      [
        { hosts: ['a.example.com'], policy: 'deny' },
        { hosts: ['b.example.com'], policy: 'deny' },
        { hosts: ['a.example.com'], paths: ['/x'], policy: 'bypass' },
      ],
      ['access.rules[2] can never match: access.rules[0] matches everything it would'],
    ],
    [
      'a wildcard covers exact hosts and deeper wildcards',
      [
        { hosts: ['*.example.com'], policy: 'authenticated' },
        { hosts: ['a.example.com', '*.b.example.com'], networks: ['10.0.0.0/8'], policy: 'bypass' },
      ],
      ['access.rules[1] can never match: access.rules[0] matches everything it would'],
    ],
    [
      'a wider network and a path prefix cover narrower ones',
      [
        { paths: ['/api/**'], networks: ['10.0.0.0/8'], methods: ['GET', 'POST'], policy: 'bypass' },
        { paths: ['/api/v1/**', '/api/x'], networks: ['10.1.0.0/16'], methods: ['GET'], policy: 'deny' },
      ],
      ['access.rules[1] can never match: access.rules[0] matches everything it would'],
    ],
    [
      'subjects do not narrow matching: a later rule for other subjects is never reached',
      [
        { hosts: ['a.example.com'], subjects: ['role:admin'], policy: 'authenticated' },
        { hosts: ['a.example.com'], subjects: ['role:user'], policy: 'authenticated' },
      ],
      ['access.rules[1] can never match: access.rules[0] matches everything it would'],
    ],
    [
      'paths /** restricts nothing',
      [
        { hosts: ['a.example.com'], paths: ['/**'], policy: 'deny' },
        { hosts: ['a.example.com'], policy: 'bypass' },
      ],
      ['access.rules[1] can never match: access.rules[0] matches everything it would'],
    ],
    [
      'only the first shadowing rule is named',
      [{ policy: 'deny' }, { policy: 'deny' }, { policy: 'bypass' }],
      [
        'access.rules[1] can never match: access.rules[0] matches everything it would',
        'access.rules[2] can never match: access.rules[0] matches everything it would',
      ],
    ],
  ])('%s', (_name, rules, expected) => {
    expect(warningsOf({ rules })).toEqual(expected);
  });

  it.each<[string, unknown[]]>([
    ['paths narrow the earlier rule', [{ hosts: ['a.example.com'], paths: ['/share/**'], policy: 'bypass' }, { hosts: ['a.example.com'], policy: 'deny' }]],
    ['networks narrow the earlier rule', [{ networks: ['10.0.0.0/8'], policy: 'bypass' }, { policy: 'authenticated' }]],
    ['methods narrow the earlier rule', [{ methods: ['GET'], policy: 'bypass' }, { policy: 'deny' }]],
    ['a wildcard does not cover the bare domain', [{ hosts: ['*.example.com'], policy: 'deny' }, { hosts: ['example.com'], policy: 'bypass' }]],
    ['a prefix does not cover a sibling with the same start', [{ paths: ['/share/**'], policy: 'deny' }, { paths: ['/sharex/**', '/share*'], policy: 'bypass' }]],
    ['regexes are only compared as text', [{ paths: ['regex:/a.*'], policy: 'deny' }, { paths: ['regex:/ab.*'], policy: 'bypass' }]],
    ['a narrower network does not cover a wider one', [{ networks: ['10.1.0.0/16'], policy: 'deny' }, { networks: ['10.0.0.0/8'], policy: 'bypass' }]],
  ])('no warning when %s', (_name, rules) => {
    expect(warningsOf({ rules })).toEqual([]);
  });
});
