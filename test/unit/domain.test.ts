import { describe, expect, it } from 'vitest';
import { canonicaliseHost } from '../../src/access/target.js';
import { validateRedirect } from '../../src/auth/redirect.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { isWithinDomain } from '../../src/net/domain.js';

describe('isWithinDomain: is this host the domain or under it', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['a.example.com', 'example.com', true],
    ['a.b.example.com', 'example.com', true],
    ['evilexample.com', 'example.com', false],
    ['a.evilexample.com', 'example.com', false],
    ['example.com.evil', 'example.com', false],
    ['xample.com', 'example.com', false],
    ['.example.com', 'example.com', false],
    ['com', 'example.com', false],
    ['example.org', 'example.com', false],
    // Canonical names only: anything else fails closed.
    ['A.EXAMPLE.COM', 'example.com', false],
    ['a.example.com.', 'example.com', false],
    ['a.xn--bcher-kva.example', 'bücher.example', false],
    // IDN compares as punycode, on either side.
    ['xn--bcher-kva.example.com', 'example.com', true],
    ['a.xn--bcher-kva.example', 'xn--bcher-kva.example', true],
    ['a.xn--bcher-kvb.example', 'xn--bcher-kva.example', false],
    // Nothing is within an empty domain (an invalid protected domain).
    ['example.com', '', false],
    ['example.com.', '', false],
  ])('%j within %j: %s', (host, domain, expected) => {
    expect(isWithinDomain(host, domain)).toBe(expected);
  });

  it.each([
    ['A.Example.COM', true],
    ['a.example.com.', true],
    ['a.example.com:8443', true],
    ['bücher.example.com', true],
    ['BÜCHER.example.com', true],
    ['evilexample.com', false],
    ['example.com.evil', false],
  ])('the host %j, canonicalised as verify does, is within example.com: %s', (raw, expected) => {
    const host = canonicaliseHost(raw);
    expect(host.ok && isWithinDomain(host.value, 'example.com')).toBe(expected);
  });

  it.each([
    ['https://A.Example.COM/x', 'https://a.example.com/x'],
    ['https://bücher.example.com/', 'https://xn--bcher-kva.example.com/'],
    ['https://evilexample.com/', undefined],
    ['https://example.com.evil/', undefined],
    // The trailing-dot host is a different name to a browser's cookie jar: not sent there.
    ['https://a.example.com./', undefined],
  ])('the sign-in redirect to %s gives %s', (rd, expected) => {
    expect(validateRedirect(rd, { domain: 'example.com', allowHttp: false })).toBe(expected);
  });

  it.each([
    ['https://auth.example.com', 'example.com', undefined],
    ['https://example.com', 'example.com', undefined],
    ['https://auth.example.com', 'evilexample.com', "must be the host of server.public_url ('auth.example.com') or a parent domain of it"],
    ['https://auth.evilexample.com', 'example.com', "must be the host of server.public_url ('auth.evilexample.com') or a parent domain of it"],
  ])('session.domain must cover server.public_url %s: %s', (publicUrl, domain, problem) => {
    const load = () => parseConfig({ server: { public_url: publicUrl }, session: { domain } });
    if (problem === undefined) expect(load().config.session.domain).toBe(domain);
    else expect(load).toThrow(new ConfigError([`session.domain ${problem}, got '${domain}'`]));
  });
});
