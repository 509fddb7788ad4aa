/** Authenticator app codes (factors/totp.ts): the window, single use per user, and a guard that cannot answer. */
import { generate, generateSecret } from 'otplib';
import { describe, expect, it } from 'vitest';
import { createTotp, readTotpCode } from '../../src/factors/totp.js';
import { MemorySingleUseGuard } from '../../src/store/single-use-guard-memory.js';

const T0 = Date.parse('2031-06-02T06:00:00Z'); // the start of a 30-second step
const codeAt = (secret: string, at: number) => generate({ secret, epoch: Math.floor(at / 1000) });

function totpAt(clock: { now: number }) {
  return createTotp({ guard: new MemorySingleUseGuard(() => clock.now), now: () => clock.now, issuer: 'Postern' });
}

describe('TOTP', () => {
  it('accepts the code of this step, the one before and the one after, and nothing further', async () => {
    const secret = generateSecret();
    const clock = { now: T0 + 10_000 };
    const totp = totpAt(clock);
    expect(await totp.check('alice', secret, await codeAt(secret, T0 - 30_000))).toBe('accepted');
    expect(await totp.check('alice', secret, await codeAt(secret, T0))).toBe('accepted');
    expect(await totp.check('alice', secret, await codeAt(secret, T0 + 30_000))).toBe('accepted');
    expect(await totp.check('alice', secret, await codeAt(secret, T0 - 60_000))).toBe('wrong');
    expect(await totp.check('alice', secret, await codeAt(secret, T0 + 60_000))).toBe('wrong');
  });

  it('accepts each code once per user; another user with the same step is not affected', async () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const clock = { now: T0 };
    const totp = totpAt(clock);
    const code = await codeAt(a, T0);
    expect(await totp.check('alice', a, code)).toBe('accepted');
    expect(await totp.check('alice', a, code)).toBe('replayed');
    clock.now += 29_000; // still inside the window
    expect(await totp.check('alice', a, code)).toBe('replayed');
    expect(await totp.check('bob', b, await codeAt(b, T0))).toBe('accepted');
  });

  it('reads only six digits (spaces allowed), and computes nothing for anything else', () => {
    expect(readTotpCode(' 123 456 ')).toBe('123456');
    for (const typed of ['12345', '1234567', 'abcdef', '12345a', '١٢٣٤٥٦', '']) expect(readTotpCode(typed)).toBeUndefined();
  });

  it('rejects (never accepts) when the guard cannot answer', async () => {
    const secret = generateSecret();
    const totp = createTotp({ guard: { claim: () => Promise.reject(new Error('redis is down')) }, now: () => T0, issuer: 'Postern' });
    await expect(totp.check('alice', secret, await codeAt(secret, T0))).rejects.toThrow('redis is down');
  });

  it('makes a 160-bit base32 secret and the otpauth URI apps scan', () => {
    const totp = totpAt({ now: T0 });
    const secret = totp.newSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(totp.uri('alice', secret)).toMatch(new RegExp(`^otpauth://totp/Postern:alice\\?secret=${secret}&.*issuer=Postern`));
  });
});
