/**
 * Authenticator app codes (RFC 6238 via otplib): SHA-1, 6 digits, 30-second steps, one step of
 * drift either way. A code is accepted at most once per user: the first acceptance claims
 * `totp:<user>:<time step>` in the single-use guard (shared by the replicas through Redis), and
 * every later use of that step's code is refused as a replay. A guard that cannot answer refuses.
 */
import { generateSecret, generateURI, verify } from 'otplib';
import type { SingleUseGuard } from '../store/single-use-guard.js';

const PERIOD_S = 30;
/** One step either way, in seconds (otplib's epochTolerance). */
const TOLERANCE_S = 30;
/** Long enough that a claimed step cannot come back into the window: 3 steps and a margin. */
const CLAIM_TTL_MS = 4 * PERIOD_S * 1000;
const CODE = /^\d{6}$/;

export type TotpCheck = 'accepted' | 'wrong' | 'replayed';

export interface TotpDeps {
  readonly guard: SingleUseGuard;
  readonly now: () => number;
  /** The name authenticator apps show (two_factor.issuer). */
  readonly issuer: string;
}

/** The typed code without the spaces people put in it (`123 456`), or undefined when it is not six digits: then nothing is computed. */
export function readTotpCode(typed: string): string | undefined {
  const code = typed.replace(/\s/g, '');
  return CODE.test(code) ? code : undefined;
}

export function createTotp(deps: TotpDeps) {
  return {
    /** A new base32 secret of 160 bits. */
    newSecret(): string {
      return generateSecret({ length: 20 });
    },

    /** The `otpauth://` URI an authenticator app scans. */
    uri(username: string, secret: string): string {
      return generateURI({ issuer: deps.issuer, label: username, secret, period: PERIOD_S, digits: 6, algorithm: 'sha1' });
    },

    /**
     * Whether `typed` is the right code for `secret` now, and not used before by `username`.
     * Rejects when the guard's store is down (the caller refuses, never accepts).
     */
    async check(username: string, secret: string, typed: string): Promise<TotpCheck> {
      const code = readTotpCode(typed);
      if (code === undefined) return 'wrong';
      const epoch = Math.floor(deps.now() / 1000);
      const result = await verify({ secret, token: code, epoch, period: PERIOD_S, epochTolerance: TOLERANCE_S, digits: 6, algorithm: 'sha1' });
      if (!result.valid) return 'wrong';
      // The step the code belongs to (otplib's delta is relative to the current step).
      const step = Math.floor(epoch / PERIOD_S) + result.delta;
      return (await deps.guard.claim(`totp:${username}:${step}`, CLAIM_TTL_MS)) ? 'accepted' : 'replayed';
    },
  };
}

export type Totp = ReturnType<typeof createTotp>;
