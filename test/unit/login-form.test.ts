import { describe, expect, it } from 'vitest';
import { MAX_PASSWORD_BYTES } from '../../src/auth/passwords.js';
import { readCredentials } from '../../src/http/login-form.js';

/** The body as the form parser gives it, and the raw text it came from. */
function read(raw: string) {
  const body = Object.fromEntries(new URLSearchParams(raw));
  return readCredentials(body, raw);
}

describe('readCredentials', () => {
  it.each([
    ['a plain form', 'username=alice&password=secret', { ok: true, username: 'alice', password: 'secret' }],
    ['spaces around the username (trimmed), a space in the password (kept)', 'username=+alice+&password=two+words', { ok: true, username: 'alice', password: 'two words' }],
    ['non-ASCII in both, percent-encoded as UTF-8', 'username=J%C3%BCrgen&password=%F0%9F%94%91key', { ok: true, username: 'Jürgen', password: '🔑key' }],
    ['a literal %FF typed into the password (sent as %25FF)', 'username=alice&password=%25FF', { ok: true, username: 'alice', password: '%FF' }],
    ['a password of exactly the maximum', `username=alice&password=${'p'.repeat(MAX_PASSWORD_BYTES)}`, { ok: true, username: 'alice', password: 'p'.repeat(MAX_PASSWORD_BYTES) }],
    ['no username', 'password=secret', { ok: false, problem: 'missing' }],
    ['a blank username', 'username=+++&password=secret', { ok: false, problem: 'missing' }],
    ['no password', 'username=alice', { ok: false, problem: 'missing' }],
    ['NUL in the username', 'username=al%00ice&password=secret', { ok: false, problem: 'malformed' }],
    ['NUL in the password', 'username=alice&password=sec%00ret', { ok: false, problem: 'malformed' }],
    ['a line break in the username', 'username=alice%0D%0Aevil&password=secret', { ok: false, problem: 'malformed' }],
    ['a high surrogate alone (CESU-8)', 'username=alice&password=%ED%A0%80', { ok: false, problem: 'malformed' }],
    ['invalid UTF-8 escapes', 'username=%C3%28&password=secret', { ok: false, problem: 'malformed' }],
    ['a replacement character (raw bytes that were not UTF-8)', 'username=alice&password=se%EF%BF%BDcret', { ok: false, problem: 'malformed' }],
    ['a password one byte over the maximum', `username=alice&password=${'p'.repeat(MAX_PASSWORD_BYTES + 1)}`, { ok: false, problem: 'too long' }],
    ['a 65-character username', `username=${'a'.repeat(65)}&password=secret`, { ok: false, problem: 'too long' }],
  ])('%s', (_what, raw, expected) => {
    expect(read(raw)).toMatchObject(expected);
  });

  it('refuses fields that are not strings (arrays, objects from a nested form)', () => {
    expect(readCredentials({ username: ['a', 'b'], password: 'x' }, undefined)).toMatchObject({ ok: false, problem: 'malformed' });
    expect(readCredentials({ username: 'alice', password: { a: '1' } }, undefined)).toMatchObject({ ok: false, problem: 'malformed' });
  });

  it('a lone surrogate that reached a string some other way is refused too', () => {
    expect(readCredentials({ username: 'alice', password: 'a\uD800b' }, undefined)).toMatchObject({ ok: false, problem: 'malformed' });
    expect(readCredentials({ username: 'alice', password: '\uD83D\uDD11' }, undefined)).toMatchObject({ ok: true });
  });
});
