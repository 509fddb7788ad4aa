import { describe, expect, it } from 'vitest';
import { CEREMONY_TTL_MS, challengeFor, parseCeremony, type Ceremony } from '../../src/factors/passkey-ceremony.js';

const NOW = 1_800_000_000_000;
const CHALLENGE = 'q5S7J2m9x1TtVf0bHc3LrA';
const register: Ceremony = { kind: 'register', challenge: CHALLENGE, user: 'alice', created: NOW - 1000 };
const signIn: Ceremony = { kind: 'sign-in', challenge: CHALLENGE, created: NOW - 1000 };

describe('which challenge a passkey response must answer', () => {
  it.each([
    ['the challenge kept for this kind and user', register, 'register', 'alice', { ok: true, challenge: CHALLENGE }],
    ['a passwordless sign-in: no user', signIn, 'sign-in', undefined, { ok: true, challenge: CHALLENGE }],
    ['nothing kept (never asked, or answered already)', undefined, 'sign-in', undefined, { ok: false, reason: 'no challenge' }],
    ['a registration challenge for a sign-in', register, 'sign-in', undefined, { ok: false, reason: 'challenge for another ceremony' }],
    ['a sign-in challenge for a second step', signIn, 'second-step', 'alice', { ok: false, reason: 'challenge for another ceremony' }],
    ["another user's registration", register, 'register', 'bob', { ok: false, reason: 'challenge for another user' }],
    ['a passwordless challenge claimed for a user', signIn, 'sign-in', 'alice', { ok: false, reason: 'challenge for another user' }],
    ['one older than its lifetime', { ...signIn, created: NOW - CEREMONY_TTL_MS - 1 }, 'sign-in', undefined, { ok: false, reason: 'challenge expired' }],
    ['one from the future (a clock gone back)', { ...signIn, created: NOW + 1 }, 'sign-in', undefined, { ok: false, reason: 'challenge expired' }],
  ] as const)('%s', (_name, stored, kind, user, expected) => {
    expect(challengeFor(stored, kind, user, NOW)).toEqual(expected);
  });

  it('reads back only a record Postern wrote', () => {
    expect(parseCeremony(register)).toEqual(register);
    expect(parseCeremony(signIn)).toEqual(signIn);
    for (const junk of [undefined, null, 'x', { ...signIn, kind: 'login' }, { ...signIn, challenge: 'short' }, { ...signIn, challenge: 'has spaces in it, twenty+' }, { ...signIn, user: 7 }, { ...signIn, created: 'now' }]) {
      expect(parseCeremony(junk)).toBeUndefined();
    }
  });
});
