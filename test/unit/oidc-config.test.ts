import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../support/config-problems.js';

const HOUR = 3_600_000;
const provider = { id: 'kc', issuer_url: 'https://sso.example.com/realms/home', client_id: 'postern', client_secret: 'client-secret-0123456789' };

function withProvider(extra: Record<string, unknown>, session: Record<string, unknown> = {}) {
  return parseConfig({ server: { public_url: 'https://auth.example.com' }, session, oidc: { providers: [{ ...provider, ...extra }] } });
}


describe('oidc.providers[].session_ttl', () => {
  test('defaults to session.ttl', () => {
    expect(withProvider({}, { ttl: '12h' }).config.oidc!.providers[0]!.session_ttl).toBe(12 * HOUR);
    expect(withProvider({}).config.oidc!.providers[0]!.session_ttl).toBe(24 * HOUR);
  });

  test('takes a duration of its own', () => {
    expect(withProvider({ session_ttl: '30m' }).config.oidc!.providers[0]!.session_ttl).toBe(30 * 60_000);
  });

  test('is refused outside 5m..720h or without a unit, with its key', () => {
    expect(problemsOf(() => withProvider({ session_ttl: '1m' }))).toEqual(["oidc.providers[0].session_ttl must be between 5m and 720h, got '1m'"]);
    expect(problemsOf(() => withProvider({ session_ttl: 3600 }))).toEqual([
      "oidc.providers[0].session_ttl must be a duration such as '24h', '30m' or '2h30m', between 5m and 720h, got '3600'",
    ]);
  });
});

describe('oidc.providers[].groups_prefix', () => {
  test('defaults to empty, and takes a short prefix', () => {
    expect(withProvider({}).config.oidc!.providers[0]!.groups_prefix).toBe('');
    expect(withProvider({ groups_prefix: 'kc-' }).config.oidc!.providers[0]!.groups_prefix).toBe('kc-');
  });

  test.each([['with a comma', 'a,b'], ['with a space', 'k c'], ['non-ASCII', 'kč-'], ['too long', 'x'.repeat(33)], ['not a text', 5]])('is refused %s, with its key', (_name, value) => {
    expect(problemsOf(() => withProvider({ groups_prefix: value }))[0]).toMatch(
      /^oidc\.providers\[0\]\.groups_prefix must be at most 32 printable ASCII characters without spaces or commas, such as 'kc-'/,
    );
  });
});
