import { describe, expect, it } from 'vitest';
import { decide, decideFor, explain, FORBID_REASONS, matchTarget, type Decision, type Subject } from '../../src/access/decide.js';
import { compileAccess } from '../../src/access/schema.js';
import type { CompiledAccess } from '../../src/access/rules.js';
import { canonicaliseTarget } from '../../src/access/target.js';

/** The example from the configuration reference. */
const EXAMPLE = {
  default_policy: 'deny',
  networks: { home: ['192.168.1.0/24', '10.8.0.0/24'] },
  rules: [
    { hosts: ['share.example.com'], paths: ['/share/**', '/api/shared-links/**', '/_app/**'], policy: 'bypass' }, // 0
    { hosts: ['share.example.com'], policy: 'deny' }, // 1
    { hosts: ['admin.example.com'], subjects: ['role:admin'], policy: 'authenticated' }, // 2
    { hosts: ['nvr.example.com'], subjects: ['role:admin', 'role:viewer'], policy: 'authenticated' }, // 3
    { hosts: ['*.example.com'], networks: ['home'], policy: 'bypass' }, // 4
    { hosts: ['*.example.com'], policy: 'authenticated' }, // 5
  ],
};

function compiled(raw: unknown, domain = 'example.com'): CompiledAccess {
  const access = compileAccess(raw, domain);
  expect(access.problems).toEqual([]);
  return access;
}

const example = compiled(EXAMPLE);

const admin: Subject = { user: 'root', role: 'admin', groups: [] };
const user: Subject = { user: 'bob', role: 'user', groups: ['family'] };
const viewer: Subject = { user: 'vera', role: 'viewer', groups: [] };
const OUTSIDE = '203.0.113.9';
const HOME = '192.168.1.5';

function at(url: string, method = 'GET'): ReturnType<typeof canonicaliseTarget> {
  const slash = url.indexOf('/');
  return canonicaliseTarget({ host: url.slice(0, slash), rawPath: url.slice(slash), method });
}

const allowAnon = (rule: number | 'default'): Decision => ({ kind: 'allow', rule, anonymous: true });
const allowUser = (rule: number | 'default'): Decision => ({ kind: 'allow', rule, anonymous: false });
const login = (rule: number | 'default'): Decision => ({ kind: 'login', rule });
const forbid = (rule: number | 'default', reason: string): Decision => ({ kind: 'forbid', rule, reason });

describe('decide with the example configuration', () => {
  it.each<[string, string, string, Subject | undefined, string, Decision]>([
    ['anonymous on a share path is let through anonymously', 'share.example.com/share/abc', 'GET', undefined, OUTSIDE, allowAnon(0)],
    ['the share directory itself is a share path', 'share.example.com/share', 'GET', undefined, OUTSIDE, allowAnon(0)],
    ['deep share API paths are share paths', 'share.example.com/api/shared-links/x/y', 'POST', undefined, OUTSIDE, allowAnon(0)],
    ['a signed-in user on a share path is still anonymous (bypass)', 'share.example.com/share/abc', 'GET', admin, OUTSIDE, allowAnon(0)],
    ['anonymous on another share-host path is forbidden', 'share.example.com/photos', 'GET', undefined, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['a signed-in admin on another share-host path is forbidden too', 'share.example.com/photos', 'GET', admin, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['/share/../admin on the share host is /admin: denied', 'share.example.com/share/../admin', 'GET', undefined, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['/share/%2e%2e/admin on the share host is /admin: denied', 'share.example.com/share/%2e%2e/admin', 'GET', undefined, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['/share;x/../admin is /admin: denied, not a share path', 'share.example.com/share;x/../admin', 'GET', undefined, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['/share;x/y is not under /share/**', 'share.example.com/share;x/y', 'GET', undefined, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['/SHARE/x does not match /share/** (case-sensitive)', 'share.example.com/SHARE/x', 'GET', undefined, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['/sharex is not under /share/**', 'share.example.com/sharex', 'GET', undefined, OUTSIDE, forbid(1, FORBID_REASONS.denied)],
    ['a query that looks like traversal stays a share path', 'share.example.com/share/x?/../../admin', 'GET', undefined, OUTSIDE, allowAnon(0)],
    ['the share host is matched case- and dot-insensitively', 'SHARE.example.com.:443/share/x', 'GET', undefined, OUTSIDE, allowAnon(0)],
    ['/share/..;/admin is refused before any rule', 'share.example.com/share/..;/admin', 'GET', undefined, OUTSIDE, forbid('default', 'ambiguous path')],
    ['an encoded slash is refused, never a bypass', 'share.example.com/share%2f..%2fadmin', 'GET', undefined, HOME, forbid('default', 'ambiguous path')],
    ['an ambiguous path is refused, never a login', 'app.example.com/a%00', 'GET', undefined, OUTSIDE, forbid('default', 'ambiguous path')],
    ['admin host: role admin is allowed', 'admin.example.com/', 'GET', admin, OUTSIDE, allowUser(2)],
    ['admin host: role user is forbidden, not passed on to a later rule', 'admin.example.com/', 'GET', user, OUTSIDE, forbid(2, FORBID_REASONS.notInSubjects)],
    ['admin host: anonymous is sent to login', 'admin.example.com/', 'GET', undefined, OUTSIDE, login(2)],
    ['admin host: from home is still authenticated (rule 2 comes first)', 'admin.example.com/', 'GET', undefined, HOME, login(2)],
    ['NVR: viewer may GET', 'nvr.example.com/live', 'GET', viewer, OUTSIDE, allowUser(3)],
    ['NVR: viewer may HEAD', 'nvr.example.com/live', 'HEAD', viewer, OUTSIDE, allowUser(3)],
    ['NVR: viewer may OPTIONS', 'nvr.example.com/live', 'options', viewer, OUTSIDE, allowUser(3)],
    ['NVR: viewer may not POST', 'nvr.example.com/api/ptz', 'POST', viewer, OUTSIDE, forbid(3, FORBID_REASONS.viewerWrite)],
    ['NVR: viewer may not DELETE', 'nvr.example.com/api/clip/1', 'DELETE', viewer, OUTSIDE, forbid(3, FORBID_REASONS.viewerWrite)],
    ['NVR: admin may POST', 'nvr.example.com/api/ptz', 'POST', admin, OUTSIDE, allowUser(3)],
    ['NVR: role user is outside the subjects', 'nvr.example.com/live', 'GET', user, OUTSIDE, forbid(3, FORBID_REASONS.notInSubjects)],
    ['home network bypasses on other subdomains', 'app.example.com/x', 'GET', undefined, HOME, allowAnon(4)],
    ['home network via IPv4-mapped IPv6 bypasses', 'app.example.com/x', 'GET', undefined, '::ffff:192.168.1.5', allowAnon(4)],
    ['the second home range bypasses', 'app.example.com/x', 'GET', undefined, '10.8.0.77', allowAnon(4)],
    ['outside the home network anonymous is sent to login', 'app.example.com/x', 'GET', undefined, OUTSIDE, login(5)],
    ['outside the home network a signed-in user is allowed', 'app.example.com/x', 'POST', user, OUTSIDE, allowUser(5)],
    ['a viewer may not write on a plain authenticated rule', 'app.example.com/x', 'POST', viewer, OUTSIDE, forbid(5, FORBID_REASONS.viewerWrite)],
    ['a deep subdomain matches *.example.com', 'a.b.example.com/x', 'GET', undefined, OUTSIDE, login(5)],
    ['the bare domain is not matched by *.example.com: default deny', 'example.com/x', 'GET', admin, HOME, forbid('default', FORBID_REASONS.denied)],
    ['a host outside the protected domain is forbidden', 'evil.test/x', 'GET', admin, HOME, forbid('default', FORBID_REASONS.outsideDomain)],
    ['a look-alike suffix is outside the domain', 'notexample.com/x', 'GET', admin, HOME, forbid('default', FORBID_REASONS.outsideDomain)],
  ])('%s', (_name, url, method, subject, ip, expected) => {
    expect(decide(at(url, method), subject, ip, example)).toEqual(expected);
  });

  it('fails closed when a networks rule is reached with an unparseable client address', () => {
    expect(decide(at('app.example.com/x'), undefined, 'not-an-ip', example)).toEqual(forbid(4, FORBID_REASONS.badClientAddress));
  });

  it('does not need the client address when no networks rule is reached', () => {
    expect(decide(at('admin.example.com/'), admin, '', example)).toEqual(allowUser(2));
  });
});

describe('decide: criteria', () => {
  it('viewer_write: true lets a viewer POST', () => {
    const access = compiled({ rules: [{ hosts: ['nvr.example.com'], subjects: ['role:viewer'], viewer_write: true, policy: 'authenticated' }] });
    expect(decide(at('nvr.example.com/api/ptz', 'POST'), viewer, OUTSIDE, access)).toEqual(allowUser(0));
  });

  it('regex paths are anchored at both ends', () => {
    const access = compiled({ rules: [{ paths: ['regex:/api/v[0-9]+/.*'], policy: 'bypass' }], default_policy: 'deny' });
    expect(decide(at('app.example.com/api/v1/users'), undefined, OUTSIDE, access)).toEqual(allowAnon(0));
    expect(decide(at('app.example.com/x/api/v1/'), undefined, OUTSIDE, access)).toEqual(forbid('default', FORBID_REASONS.denied));
    expect(decide(at('app.example.com/api/v1'), undefined, OUTSIDE, access)).toEqual(forbid('default', FORBID_REASONS.denied));
  });

  it('regex paths see the canonical path', () => {
    const access = compiled({ rules: [{ paths: ['regex:/api/v[0-9]+/.*'], policy: 'bypass' }] });
    expect(decide(at('app.example.com/x/../api/v%31/z'), undefined, OUTSIDE, access)).toEqual(allowAnon(0));
  });

  it.each<[string, string, Decision]>([
    ['/files/a.txt', 'GET', allowAnon(0)],
    ['/files/a.txt', 'get', allowAnon(0)],
    ['/files/a.txt', 'HEAD', allowAnon(0)],
    ['/files/a.txt', 'PUT', login('default')],
    ['/files/dir/a.txt', 'GET', login('default')],
    ['/files/', 'GET', allowAnon(0)],
  ])('methods and single-segment globs: %s %s', (path, method, expected) => {
    const access = compiled({ default_policy: 'authenticated', rules: [{ paths: ['/files/*'], methods: ['get', 'HEAD'], policy: 'bypass' }] });
    expect(decide(at(`app.example.com${path}`, method), undefined, OUTSIDE, access)).toEqual(expected);
  });

  it.each<[string, Subject, Decision]>([
    ['group member', { user: 'carol', role: 'user', groups: ['staff', 'family'] }, allowUser(0)],
    ['named user', { user: 'alice', role: 'user', groups: [] }, allowUser(0)],
    ['other user', { user: 'mallory', role: 'user', groups: ['guests'] }, forbid(0, FORBID_REASONS.notInSubjects)],
    ['a role named like the group does not count', { user: 'dave', role: 'family', groups: [] }, forbid(0, FORBID_REASONS.notInSubjects)],
  ])('subjects group:/user: — %s', (_name, subject, expected) => {
    const access = compiled({ rules: [{ hosts: ['photos.example.com'], subjects: ['group:family', 'user:Alice'], policy: 'authenticated' }] });
    expect(decide(at('photos.example.com/'), subject, OUTSIDE, access)).toEqual(expected);
  });

  it('a CIDR written directly in a rule works', () => {
    const access = compiled({ rules: [{ networks: ['203.0.113.0/24', '2001:db8::/32'], policy: 'bypass' }] });
    expect(decide(at('app.example.com/'), undefined, '203.0.113.9', access)).toEqual(allowAnon(0));
    expect(decide(at('app.example.com/'), undefined, '2001:db8::5', access)).toEqual(allowAnon(0));
    expect(decide(at('app.example.com/'), undefined, '198.51.100.1', access)).toEqual(forbid('default', FORBID_REASONS.denied));
  });

  it('an IDN rule host matches the punycode target', () => {
    const access = compiled({ rules: [{ hosts: ['bücher.example.com'], policy: 'bypass' }] });
    expect(decide(at('xn--bcher-kva.example.com/'), undefined, OUTSIDE, access)).toEqual(allowAnon(0));
    expect(decide(at('BÜCHER.example.com/'), undefined, OUTSIDE, access)).toEqual(allowAnon(0));
  });
});

describe('decide: default policy', () => {
  it('without an access section: authenticated within the protected domain', () => {
    const access = compiled(undefined, '.example.com');
    expect(decide(at('example.com/'), undefined, HOME, access)).toEqual(login('default'));
    expect(decide(at('app.example.com/'), undefined, HOME, access)).toEqual(login('default'));
    expect(decide(at('app.example.com/', 'POST'), user, HOME, access)).toEqual(allowUser('default'));
  });

  it('without an access section: a viewer is read-only', () => {
    const access = compiled(undefined);
    expect(decide(at('app.example.com/', 'POST'), viewer, HOME, access)).toEqual(forbid('default', FORBID_REASONS.viewerWrite));
  });

  it('without an access section: a host outside the protected domain is forbidden, even when signed in', () => {
    const access = compiled(undefined);
    expect(decide(at('other.test/'), admin, HOME, access)).toEqual(forbid('default', FORBID_REASONS.outsideDomain));
    expect(decide(at('192.168.1.1/'), admin, HOME, access)).toEqual(forbid('default', FORBID_REASONS.outsideDomain));
  });

  it('with an access section the default policy is deny', () => {
    const access = compiled({ rules: [] });
    expect(decide(at('app.example.com/'), admin, HOME, access)).toEqual(forbid('default', FORBID_REASONS.denied));
  });

  it('default_policy bypass applies only within the protected domain', () => {
    const access = compiled({ default_policy: 'bypass' });
    expect(decide(at('app.example.com/'), undefined, HOME, access)).toEqual(allowAnon('default'));
    expect(decide(at('elsewhere.test/'), undefined, HOME, access)).toEqual(forbid('default', FORBID_REASONS.outsideDomain));
  });

  it('a configuration with problems forbids everything', () => {
    const access = compileAccess({ rules: [{ networks: ['hom'], policy: 'bypass' }] }, 'example.com');
    expect(access.problems).not.toEqual([]);
    expect(decide(at('app.example.com/'), admin, HOME, access)).toEqual(forbid('default', FORBID_REASONS.misconfigured));
  });
});

describe('explain', () => {
  it('names the matched rule and renders it on one line', () => {
    expect(explain(at('nvr.example.com/api', 'POST'), viewer, OUTSIDE, example)).toEqual({
      decision: forbid(3, FORBID_REASONS.viewerWrite),
      rule: 3,
      text: 'rules[3]: hosts=[nvr.example.com] subjects=[role:admin,role:viewer] policy=authenticated',
    });
  });

  it('describes the default policy', () => {
    expect(explain(at('example.com/'), undefined, OUTSIDE, example)).toEqual({
      decision: forbid('default', FORBID_REASONS.denied),
      rule: 'default',
      text: 'default_policy=deny for hosts within example.com',
    });
  });

  it('describes a host outside the domain and a refused target', () => {
    expect(explain(at('evil.test/'), undefined, OUTSIDE, example).text).toBe('no rule matched and evil.test is outside the protected domain example.com');
    expect(explain(at('app.example.com/%zz'), undefined, OUTSIDE, example).text).toBe('target refused before any rule: ambiguous path');
  });
});

describe('matchTarget and decideFor (verify matches once, then decides per subject)', () => {
  const targets = [
    ['share.example.com/share/abc', 'GET', OUTSIDE],
    ['share.example.com/other', 'GET', OUTSIDE],
    ['admin.example.com/', 'POST', OUTSIDE],
    ['nvr.example.com/cam', 'DELETE', OUTSIDE],
    ['photos.example.com/', 'GET', HOME],
    ['photos.example.com/', 'GET', 'not-an-address'],
    ['photos.example.com/a/%2e%2e/b', 'GET', OUTSIDE],
    ['evil.test/', 'GET', OUTSIDE],
  ] as const;

  it.each(targets)('%s (%s from %s) gets the same decision as decide() for every subject', (url, method, ip) => {
    const match = matchTarget(at(url, method), ip, example);
    for (const subject of [undefined, admin, user, viewer]) {
      expect(decideFor(match, subject)).toEqual(decide(at(url, method), subject, ip, example));
    }
  });
});

describe('policy two_factor: signed in with a second factor', () => {
  const access = compiled({
    default_policy: 'authenticated',
    rules: [
      { hosts: ['nvr.example.com'], subjects: ['role:admin', 'role:viewer'], policy: 'two_factor' }, // 0
      { hosts: ['files.example.com'], policy: 'two_factor' }, // 1
    ],
  });
  const twoFactor = (s: Subject): Subject => ({ ...s, twoFactor: true });
  const stepUp = (rule: number | 'default'): Decision => ({ kind: 'step-up', rule });

  it.each<[string, string, string, Subject | undefined, Decision]>([
    ['nobody signed in is sent to sign in first', 'nvr.example.com/live', 'GET', undefined, login(0)],
    ['an admin signed in with one factor is asked for a second', 'nvr.example.com/live', 'GET', admin, stepUp(0)],
    ['an admin signed in with two factors is allowed', 'nvr.example.com/live', 'GET', twoFactor(admin), allowUser(0)],
    ['someone outside the subjects is forbidden, not asked for a factor', 'nvr.example.com/live', 'GET', user, forbid(0, FORBID_REASONS.notInSubjects)],
    ['outside the subjects with two factors: still forbidden', 'nvr.example.com/live', 'GET', twoFactor(user), forbid(0, FORBID_REASONS.notInSubjects)],
    ['a viewer writing is forbidden before any step-up', 'nvr.example.com/api/ptz', 'POST', viewer, forbid(0, FORBID_REASONS.viewerWrite)],
    ['a viewer reading with one factor is asked for a second', 'nvr.example.com/live', 'GET', viewer, stepUp(0)],
    ['a rule without subjects asks anyone with one factor', 'files.example.com/', 'PUT', user, stepUp(1)],
    ['and lets anyone with two through', 'files.example.com/', 'PUT', twoFactor(user), allowUser(1)],
    ['an authenticated rule does not care how many factors', 'app.example.com/', 'GET', user, allowUser('default')],
  ])('%s', (_name, url, method, subject, expected) => {
    expect(decide(at(url, method), subject, OUTSIDE, access)).toEqual(expected);
  });

  it('may be the default policy', () => {
    const strict = compiled({ default_policy: 'two_factor' });
    expect(decide(at('app.example.com/'), user, OUTSIDE, strict)).toEqual(stepUp('default'));
    expect(decide(at('app.example.com/'), twoFactor(user), OUTSIDE, strict)).toEqual(allowUser('default'));
  });

  it('is rendered in explain', () => {
    expect(explain(at('nvr.example.com/'), admin, OUTSIDE, access).text).toBe('rules[0]: hosts=[nvr.example.com] subjects=[role:admin,role:viewer] policy=two_factor');
  });
});
