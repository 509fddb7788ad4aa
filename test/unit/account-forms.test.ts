import { describe, expect, it } from 'vitest';
import { readPasswordForm } from '../../src/account/password-form.js';
import { parseTokenExpiry, parseTokenHosts, parseTokenId, parseTokenName } from '../../src/tokens/manage.js';

/** The change-password form as the form parser gives it, and the raw text it came from. */
function read(raw: string) {
  return readPasswordForm(Object.fromEntries(new URLSearchParams(raw)), raw, 12);
}

describe('readPasswordForm', () => {
  it.each([
    ['a plain change', 'current=old+password&password=new+password+1&confirm=new+password+1', { ok: true, current: 'old password', password: 'new password 1' }],
    ['non-ASCII, counted in characters (12 of them, 30 bytes)', 'current=x&password=%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91abcdef&confirm=%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91abcdef', { ok: true }],
    ['no current password', 'password=new+password+1&confirm=new+password+1', { ok: false, problem: 'missing' }],
    ['no repetition', 'current=x&password=new+password+1', { ok: false, problem: 'missing' }],
    ['a repetition that differs', 'current=x&password=new+password+1&confirm=new+password+2', { ok: false, problem: 'mismatch' }],
    ['11 characters', 'current=x&password=abcdefghijk&confirm=abcdefghijk', { ok: false, problem: 'too short', message: 'The new password has 11 characters; it needs at least 12.' }],
    ['the current password again', 'current=same+password+1&password=same+password+1&confirm=same+password+1', { ok: false, problem: 'unchanged' }],
    ['NUL in the new password', 'current=x&password=new+password%001&confirm=new+password%001', { ok: false, problem: 'malformed' }],
    ['invalid UTF-8 escapes', 'current=%C3%28&password=new+password+1&confirm=new+password+1', { ok: false, problem: 'malformed' }],
    ['a replacement character', 'current=x&password=new%EF%BF%BDpassword&confirm=new%EF%BF%BDpassword', { ok: false, problem: 'malformed' }],
    ['a new password over 1024 bytes', `current=x&password=${'p'.repeat(1025)}&confirm=${'p'.repeat(1025)}`, { ok: false, problem: 'too long' }],
  ])('%s', (_what, raw, expected) => {
    expect(read(raw)).toMatchObject(expected);
  });

  it('refuses fields that are not strings', () => {
    expect(readPasswordForm({ current: 'x', password: ['a', 'b'], confirm: 'a' }, undefined, 12)).toMatchObject({ ok: false, problem: 'malformed' });
  });
});

describe('app password fields', () => {
  const NOW = Date.parse('2026-12-02T06:00:00Z');

  it.each([
    ['immich phone', { ok: true, value: 'immich phone' }],
    ['  padded  ', { ok: true, value: 'padded' }],
    ['', { ok: false }],
    ['tab\there', { ok: false }],
    ['x'.repeat(101), { ok: false, error: 'must be at most 100 characters' }],
  ])('name %j', (text, expected) => {
    expect(parseTokenName(text)).toMatchObject(expected);
  });

  it.each([
    ['90d', { ok: true, value: NOW + 90 * 86_400_000 }],
    ['2027-01-31', { ok: true, value: Date.parse('2027-01-31') }],
    ['0', { ok: false, error: '0 is not in the future' }],
    ['2026-12-01', { ok: false, error: '2026-12-01 is in the past' }],
    ['soon', { ok: false, error: "must be a duration such as 90d or a date such as 2027-01-31, got 'soon'" }],
  ])('expiry %j', (text, expected) => {
    expect(parseTokenExpiry(text, NOW)).toMatchObject(expected);
  });

  it.each([
    ['Photos.Example.com, *.cams.example.com', { ok: true, value: ['photos.example.com', '*.cams.example.com'] }],
    [' , ', { ok: false, error: 'needs at least one host name' }],
    ['evilexample.com', { ok: false }],
    ['photos.example.com/x', { ok: false, error: "'photos.example.com/x' is not a host name" }],
    [Array.from({ length: 51 }, (_, i) => `h${i}.example.com`).join(','), { ok: false, error: 'may name at most 50 hosts' }],
  ])('hosts %j', (text, expected) => {
    expect(parseTokenHosts(text, 'example.com')).toMatchObject(expected);
  });

  it('ids: eight base62 characters, nothing else is looked up', () => {
    expect(parseTokenId(' Ab3dEf9Z ')).toEqual({ ok: true, value: 'Ab3dEf9Z' });
    expect(parseTokenId('../../etc')).toMatchObject({ ok: false });
  });
});
