import { generate, generateSecret } from 'otplib';
import type { UserFactors } from '../../src/factors/factors.js';
import { totpContext } from '../../src/factors/factors.js';
import { generateRecoveryCodes } from '../../src/factors/recovery.js';
import { createSecretBox } from '../../src/factors/secret-box.js';

/** The key the app fixture seals with when no encryption key is given: its session secret. */
export const FIXTURE_KEY = 'test-secret-test-secret-test-secret-0123';

/** An authenticator app of the test's own: its secret, the factors to put in the users file, and its codes at any time. */
export function testAuthenticator(username: string, opts: { key?: string; now?: number; recovery?: boolean } = {}) {
  const secret = generateSecret();
  const box = createSecretBox(opts.key ?? FIXTURE_KEY);
  const created = opts.now ?? Date.parse('2026-12-01T00:00:00Z');
  const recovery = opts.recovery ? generateRecoveryCodes(created) : undefined;
  const factors: UserFactors = { totp: { secret: box.seal(secret, totpContext(username)), created }, ...(recovery ? { recovery: recovery.stored } : {}) };
  return {
    secret,
    factors,
    recoveryCodes: recovery?.shown ?? [],
    /** The code the app shows at epoch ms `at`. */
    code: (at: number): Promise<string> => generate({ secret, epoch: Math.floor(at / 1000) }),
  };
}
