/**
 * The shared second-factor model: sealing secrets, the users file's `factors:` mapping (read and
 * written back), recovery codes, and which sign-ins count as two factors.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import { describeFactors, hasSecondFactor } from '../../src/factors/factors.js';
import { generateRecoveryCodes, normaliseRecoveryCode, useRecoveryCode } from '../../src/factors/recovery.js';
import { createSecretBox, isSealed } from '../../src/factors/secret-box.js';
import { isTwoFactor, providerAmrIsTwoFactor, providerMethods } from '../../src/factors/session-methods.js';

const KEY = 'an-encryption-key-of-at-least-32-characters';
const HASH = 'pbkdf2_sha256$100000$c2FsdHNhbHRzYWx0$ojonbXFIcw2BiMPWXY50K+8eglgjEPdl5o0fnTFrmNE=';
const box = createSecretBox(KEY);

describe('the secret box (AES-256-GCM)', () => {
  it('seals to v1:<iv>:<ciphertext+tag> and opens again, with a fresh IV each time', () => {
    const a = box.seal('JBSWY3DPEHPK3PXP', 'totp:alice');
    const b = box.seal('JBSWY3DPEHPK3PXP', 'totp:alice');
    expect(a).toMatch(/^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('JBSWY3DP');
    expect(isSealed(a)).toBe(true);
    expect(box.open(a, 'totp:alice')).toBe('JBSWY3DPEHPK3PXP');
  });

  it('opens nothing under another key, for another user, or once altered', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:alice');
    expect(createSecretBox('another-encryption-key-of-32-characters!!').open(sealed, 'totp:alice')).toBeUndefined();
    expect(box.open(sealed, 'totp:bob')).toBeUndefined();
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    expect(box.open(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`, 'totp:alice')).toBeUndefined();
    expect(box.open('v1:short:x', 'totp:alice')).toBeUndefined();
  });

  it('refuses a key shorter than 32 characters', () => {
    expect(() => createSecretBox('too short')).toThrow('secrets.encryption_key must be at least 32 characters');
  });
});

describe('recovery codes', () => {
  it('makes ten codes of 80 bits, shown once and kept only as hashes', () => {
    const { shown, stored } = generateRecoveryCodes(1_000);
    expect(shown).toHaveLength(10);
    for (const code of shown) expect(code).toMatch(/^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/);
    expect(new Set(shown).size).toBe(10);
    expect(stored.codes).toHaveLength(10);
    for (const hash of stored.codes) expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(shown[0]!.slice(0, 9));
  });

  it('uses a code once, typed in any case with spaces or without dashes, and records when', () => {
    const { shown, stored } = generateRecoveryCodes(1_000);
    const typed = ` ${shown[3]!.toUpperCase().replaceAll('-', ' ')} `;
    const after = useRecoveryCode(stored, typed, 5_000)!;
    expect(after.codes).toHaveLength(9);
    expect(after.used).toEqual([{ at: 5_000 }]);
    expect(useRecoveryCode(after, shown[3]!, 6_000)).toBeUndefined();
    expect(useRecoveryCode(after, shown[4]!.replaceAll('-', ''), 6_000)?.codes).toHaveLength(8);
  });

  it('does not hash what cannot be a code', () => {
    expect(normaliseRecoveryCode('123456')).toBeUndefined();
    expect(normaliseRecoveryCode('iiii-llll-oooo-1111')).toBeUndefined();
    expect(useRecoveryCode(generateRecoveryCodes(0).stored, 'abcd-efgh-jkmn-pqrs', 1)).toBeUndefined();
  });
});

describe('two factors or one', () => {
  it.each([
    [undefined, false],
    [['pwd'], false],
    [['oidc'], false],
    [['otp'], false],
    [['pwd', 'otp'], true],
    [['pwd', 'hwk'], true],
    [['pwd', 'recovery'], true],
    [['oidc', 'mfa'], true],
    [['oidc', 'otp'], true],
    [['hwk', 'mfa'], true],
  ])('amr %j is two-factor: %s', (amr, expected) => {
    expect(isTwoFactor(amr === undefined ? {} : { amr })).toBe(expected);
  });

  it.each([
    [['pwd'], false],
    [['pwd', 'mfa'], true],
    [['pwd', 'otp'], true],
    [['hwk', 'user'], true],
    [['otp'], false],
    [['pwd', 'kba'], false],
    ['mfa', false],
    [[1, 2], false],
    [undefined, false],
  ])('a provider amr of %j counts as two factors: %s', (amr, expected) => {
    expect(providerAmrIsTwoFactor(amr)).toBe(expected);
  });

  it('a provider marked two_factor: true counts whatever its amr says', () => {
    expect(providerMethods(true, undefined)).toEqual(['oidc', 'mfa']);
    expect(providerMethods(false, ['pwd', 'mfa'])).toEqual(['oidc', 'mfa']);
    expect(providerMethods(false, ['pwd'])).toEqual(['oidc']);
  });
});

describe('factors in the users file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-factors-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:alice');
  const fileWith = (factors: string) => `users:\n  alice:\n    password: "${HASH}"\n${factors}`;

  it('reads totp, recovery and passkeys, and says which factors a user has', () => {
    const { shown: _shown, stored } = generateRecoveryCodes(Date.parse('2026-12-02T06:00:00Z'));
    const parsed = parseUsersFile(
      fileWith(
        `    factors:\n      totp:\n        secret: "${sealed}"\n        created: "2026-12-02T06:00:00.000Z"\n` +
          `      recovery:\n        created: "2026-12-02T06:00:00.000Z"\n        codes: [${stored.codes.slice(0, 7).join(', ')}]\n        used: [{ at: "2026-12-03T06:00:00Z" }]\n` +
          `      passkeys: []\n`,
      ),
    );
    expect(parsed.problems).toEqual([]);
    const factors = parsed.users.get('alice')!.factors!;
    expect(factors.totp).toEqual({ secret: sealed, created: Date.parse('2026-12-02T06:00:00Z') });
    expect(factors.recovery!.codes).toHaveLength(7);
    expect(factors.recovery!.used).toEqual([{ at: Date.parse('2026-12-03T06:00:00Z') }]);
    expect(hasSecondFactor(factors)).toBe(true);
    expect(describeFactors(factors)).toEqual(['totp', 'recovery:7/8']);
  });

  it('names every problem with its key path, and never quotes a secret back', () => {
    const parsed = parseUsersFile(
      fileWith(
        `    factors:\n      totp:\n        secret: "JBSWY3DPEHPK3PXP"\n      recovery:\n        created: yesterday\n        codes: [abc]\n        used: nope\n` +
          `      passkeys: {}\n      sms: {}\n`,
      ),
    );
    expect(parsed.problems).toEqual([
      'users.alice.factors."sms" is not a known key (totp, recovery, passkeys)',
      "users.alice.factors.totp.secret must be the encrypted value Postern wrote (v1:...); to start again, remove users.alice.factors.totp or run 'postern user reset-2fa'",
      'users.alice.factors.totp.created is missing',
      'users.alice.factors.recovery.created must be a date and time such as "2026-12-02T03:00:00Z"',
      'users.alice.factors.recovery.codes[0] must be the 64 hex digits Postern wrote',
      'users.alice.factors.recovery.used must be a list such as [{ at: "2026-12-02T03:00:00Z" }]',
      'users.alice.factors.passkeys must be a list of passkeys (added on the account page)',
    ]);
    expect(parsed.problems.join('\n')).not.toContain('JBSWY3DPEHPK3PXP');
  });

  it('a user with only recovery codes has no second factor: the codes are the way back to one', () => {
    expect(hasSecondFactor({ recovery: generateRecoveryCodes(0).stored })).toBe(false);
    expect(hasSecondFactor(undefined)).toBe(false);
  });

  it('writes factors with editUsersFile and reads them back, keeping the rest of the file; none left removes the key', async () => {
    const path = join(dir, 'users.yml');
    await writeFile(path, `# my users\n${fileWith('    role: admin # the boss\n')}`, { mode: 0o600 });
    const { stored } = generateRecoveryCodes(Date.parse('2026-12-02T06:00:00Z'));
    await editUsersFile(path, (file) => file.setFactors('alice', { totp: { secret: sealed, created: Date.parse('2026-12-02T06:00:00Z') }, recovery: stored }));
    const text = await readFile(path, 'utf8');
    expect(text).toContain('# my users');
    expect(text).toContain('role: admin # the boss');
    expect(text).toContain('created: 2026-12-02T06:00:00.000Z');
    const back = parseUsersFile(text);
    expect(back.problems).toEqual([]);
    expect(back.users.get('alice')!.factors).toEqual({ totp: { secret: sealed, created: Date.parse('2026-12-02T06:00:00Z') }, recovery: stored });

    await editUsersFile(path, (file) => file.setFactors('alice', undefined));
    const cleared = await readFile(path, 'utf8');
    expect(cleared).not.toContain('factors');
    expect(parseUsersFile(cleared).users.get('alice')!.factors).toBeUndefined();
  });
});
