import { describe, expect, it } from 'vitest';
import type { User } from '../../src/auth/user.js';
import type { Passkey } from '../../src/factors/passkey-parse.js';
import { createPasskeys, parseCredentialResponse } from '../../src/factors/passkeys.js';
import { MemoryPasskeyCounterStore } from '../../src/store/passkey-counter-store.js';
import { SoftAuthenticator } from '../support/webauthn.js';

const RP = 'example.com';
const ORIGIN = 'https://auth.example.com';
const NOW = Date.parse('2026-12-02T06:00:00Z');
const alice: User = { username: 'alice', password: 'x', role: 'user', groups: [], email: '', name: 'Alice', disabled: false };

function setUp() {
  const counters = new MemoryPasskeyCounterStore();
  const passkeys = createPasskeys({ rpId: RP, origin: ORIGIN, secret: 'test-secret-test-secret-test-secret-0123', counters, now: () => NOW });
  return { passkeys, counters };
}

/** Registers a fresh software authenticator for alice; returns it and the stored passkey. */
async function registered(passkeys: ReturnType<typeof setUp>['passkeys'], opts: ConstructorParameters<typeof SoftAuthenticator>[0] = {}) {
  const authenticator = new SoftAuthenticator(opts);
  const options = await passkeys.registrationOptions(alice, []);
  const response = authenticator.register({ challenge: options.challenge, origin: ORIGIN, rpId: RP, userHandle: options.user.id });
  const result = await passkeys.verifyRegistration({ user: alice, name: 'Laptop', response: JSON.stringify(response), challenge: options.challenge });
  if (!result.ok) throw new Error(`registration refused: ${result.reason}`);
  return { authenticator, passkey: result.passkey };
}

function only(passkey: Passkey) {
  return (id: string) => (id === passkey.id ? { user: alice, passkey } : undefined);
}

describe('passkey registration', () => {
  it('offers the RP id, the user under an opaque handle, no attestation, and excludes the passkeys already held', async () => {
    const { passkeys } = setUp();
    const { passkey } = await registered(passkeys);
    const options = await passkeys.registrationOptions(alice, [passkey]);
    expect(options.rp).toEqual({ name: RP, id: RP });
    expect(options.user.name).toBe('alice');
    expect(options.user.displayName).toBe('Alice');
    expect(options.user.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.user.id).not.toContain('alice');
    expect(options.attestation).toBe('none');
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'preferred', userVerification: 'preferred' });
    expect(options.excludeCredentials).toEqual([{ id: passkey.id, type: 'public-key', transports: ['internal'] }]);
    expect(options.challenge).not.toBe((await passkeys.registrationOptions(alice, [])).challenge);
  });

  it('keeps the credential id, public key, transports, time, and whether the user was verified', async () => {
    const { passkeys } = setUp();
    const { authenticator, passkey } = await registered(passkeys, { userVerified: false });
    expect(passkey).toMatchObject({ id: authenticator.credentialId, name: 'Laptop', transports: ['internal'], created: NOW, userVerified: false });
    expect(passkey.publicKey).toMatch(/^pQECAyYgASFYI/); // COSE: kty 2, alg -7, crv 1, x ...
  });

  it('refuses a response for another challenge, origin, RP id or ceremony, and junk', async () => {
    const { passkeys } = setUp();
    const options = await passkeys.registrationOptions(alice, []);
    const good = { challenge: options.challenge, origin: ORIGIN, rpId: RP };
    const attempt = (response: unknown) => passkeys.verifyRegistration({ user: alice, name: 'x', response, challenge: options.challenge });
    const a = new SoftAuthenticator();
    expect(await attempt(JSON.stringify(a.register({ ...good, challenge: 'c29tZXRoaW5nIGVsc2U' })))).toEqual({ ok: false, reason: 'wrong challenge' });
    expect(await attempt(JSON.stringify(a.register({ ...good, origin: 'https://evil.example.net' })))).toEqual({ ok: false, reason: 'wrong origin' });
    expect(await attempt(JSON.stringify(a.register({ ...good, rpId: 'evil.example.net' })))).toEqual({ ok: false, reason: 'wrong rp id' });
    expect(await attempt(JSON.stringify(a.register({ ...good, type: 'webauthn.get' })))).toEqual({ ok: false, reason: 'wrong ceremony' });
    for (const junk of [undefined, '', '{', '[]', '{"id":"x","rawId":"x","type":"public-key","response":{}}', 'x'.repeat(20_000)]) {
      expect(await attempt(junk)).toEqual({ ok: false, reason: 'malformed response' });
    }
  });
});

describe('passkey authentication', () => {
  it('accepts an assertion of the registered key, and says whether the user was verified', async () => {
    const { passkeys } = setUp();
    for (const userVerified of [true, false]) {
      const { authenticator, passkey } = await registered(passkeys, { userVerified });
      const options = await passkeys.authenticationOptions();
      expect(options).toMatchObject({ rpId: RP, userVerification: 'preferred' });
      expect(options.allowCredentials).toBeUndefined();
      const response = authenticator.assert({ challenge: options.challenge, origin: ORIGIN, rpId: RP });
      const result = await passkeys.verifyAuthentication({ response: JSON.stringify(response), challenge: options.challenge, find: only(passkey) });
      expect(result).toEqual({ ok: true, user: alice, passkey, userVerified });
    }
  });

  it('names the allowed credentials for a second step', async () => {
    const { passkeys } = setUp();
    const { passkey } = await registered(passkeys);
    expect((await passkeys.authenticationOptions([passkey])).allowCredentials).toEqual([{ id: passkey.id, type: 'public-key', transports: ['internal'] }]);
  });

  it('refuses another challenge, origin, RP id, ceremony, credential, key or user handle', async () => {
    const { passkeys } = setUp();
    const { authenticator, passkey } = await registered(passkeys);
    const challenge = (await passkeys.authenticationOptions()).challenge;
    const good = { challenge, origin: ORIGIN, rpId: RP };
    const attempt = (response: unknown, find = only(passkey)) => passkeys.verifyAuthentication({ response: JSON.stringify(response), challenge, find });
    expect(await attempt(authenticator.assert({ ...good, challenge: 'c29tZXRoaW5nIGVsc2U' }))).toMatchObject({ ok: false, reason: 'wrong challenge', user: 'alice' });
    expect(await attempt(authenticator.assert({ ...good, origin: 'https://auth.example.com.evil.net' }))).toMatchObject({ ok: false, reason: 'wrong origin' });
    expect(await attempt(authenticator.assert({ ...good, rpId: 'auth.example.com' }))).toMatchObject({ ok: false, reason: 'wrong rp id' });
    expect(await attempt(authenticator.assert({ ...good, type: 'webauthn.create' }))).toMatchObject({ ok: false, reason: 'wrong ceremony' });
    expect(await attempt(authenticator.assert({ ...good, userHandle: 'c29tZW9uZSBlbHNl' }))).toMatchObject({ ok: false, reason: 'wrong user handle' });
    expect(await attempt(authenticator.assert(good), () => undefined)).toEqual({ ok: false, reason: 'unknown credential' });
    // Another key claiming this credential's id: the signature does not hold.
    const impostor = Object.assign(new SoftAuthenticator(), { credentialId: authenticator.credentialId, userHandle: authenticator.userHandle, counter: 100 });
    expect(await attempt(impostor.assert(good))).toMatchObject({ ok: false, reason: 'bad signature' });
    // None of the refusals moved the counter: the real authenticator still signs in.
    expect(await attempt(authenticator.assert(good))).toMatchObject({ ok: true });
  });

  it('refuses a counter that does not move forward (a cloned authenticator), after a valid signature', async () => {
    const { passkeys } = setUp();
    const { authenticator, passkey } = await registered(passkeys, { counter: 10 });
    const sign = async () => {
      const challenge = (await passkeys.authenticationOptions()).challenge;
      const response = authenticator.assert({ challenge, origin: ORIGIN, rpId: RP });
      return passkeys.verifyAuthentication({ response: JSON.stringify(response), challenge, find: only(passkey) });
    };
    expect(await sign()).toMatchObject({ ok: true }); // 11
    authenticator.counter = 5; // the clone was copied earlier
    expect(await sign()).toEqual({ ok: false, reason: 'counter went back', user: 'alice', detail: { counter: 6, stored: 11 } });
    authenticator.counter = 11;
    expect(await sign()).toMatchObject({ ok: true }); // 12
  });

  it('accepts 0 every time from an authenticator that does not count', async () => {
    const { passkeys } = setUp();
    const { authenticator, passkey } = await registered(passkeys, { counts: false });
    for (let i = 0; i < 3; i++) {
      const challenge = (await passkeys.authenticationOptions()).challenge;
      const response = authenticator.assert({ challenge, origin: ORIGIN, rpId: RP });
      expect(await passkeys.verifyAuthentication({ response: JSON.stringify(response), challenge, find: only(passkey) })).toMatchObject({ ok: true });
    }
  });
});

describe('parseCredentialResponse', () => {
  it('wants a public-key credential whose rawId is its id', () => {
    const base = { id: 'AAECAwQFBgcICQoLDA0ODw', rawId: 'AAECAwQFBgcICQoLDA0ODw', type: 'public-key', response: {} };
    expect(parseCredentialResponse(JSON.stringify(base))).toMatchObject(base);
    expect(parseCredentialResponse(JSON.stringify({ ...base, rawId: 'AAECAwQFBgcICQoLDA0OEA' }))).toBeUndefined();
    expect(parseCredentialResponse(JSON.stringify({ ...base, type: 'password' }))).toBeUndefined();
    expect(parseCredentialResponse(JSON.stringify({ ...base, response: [] }))).toBeUndefined();
    expect(parseCredentialResponse(42)).toBeUndefined();
  });
});
