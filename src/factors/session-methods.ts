/**
 * How a session was signed in (`SessionData.amr`), and whether that is two factors. Pure.
 *
 * Methods, after RFC 8176: `pwd` (the password), `otp` (an authenticator app code), `hwk` (a
 * passkey), `recovery` (a recovery code), `oidc` (a single sign-on provider), and `mfa`: the one
 * step vouched for two factors by itself (a provider whose `amr` said so, or one marked
 * `two_factor: true`; a passkey with user verification).
 *
 * Two-factor: `mfa`, or a first step (`pwd`, or `oidc`: the provider checked at least one factor)
 * and one of `otp`, `hwk`, `recovery`.
 */
import type { SessionData } from '../store/session-store.js';

export type SignInMethod = 'pwd' | 'otp' | 'hwk' | 'recovery' | 'oidc' | 'mfa';

const POSSESSION: ReadonlySet<string> = new Set(['otp', 'hwk', 'recovery']);

export function isTwoFactor(session: Pick<SessionData, 'amr'>): boolean {
  const amr = session.amr;
  if (amr === undefined) return false;
  if (amr.includes('mfa')) return true;
  return (amr.includes('pwd') || amr.includes('oidc')) && amr.some((m) => POSSESSION.has(m));
}

/** `methods` with `added` after them, each once. */
export function withMethod(methods: readonly string[] | undefined, added: SignInMethod): readonly string[] {
  return methods?.includes(added) ? methods : [...(methods ?? []), added];
}

/**
 * RFC 8176 values a provider's `amr` claim may carry that stand for a factor beyond a password
 * (something held or something one is). A provider's sign-in counts as two factors when its `amr`
 * holds `mfa`, or one of these beside another method.
 */
const PROVIDER_SECOND_FACTORS: ReadonlySet<string> = new Set(['otp', 'hwk', 'swk', 'sms', 'tel', 'sc', 'fpt', 'face', 'iris', 'retina', 'vbm', 'pop']);

/** Whether an ID token's `amr` claim (untrusted shape) says the provider checked two factors. */
export function providerAmrIsTwoFactor(amr: unknown): boolean {
  if (!Array.isArray(amr) || !amr.every((m) => typeof m === 'string')) return false;
  if (amr.includes('mfa')) return true;
  return new Set(amr).size >= 2 && amr.some((m) => PROVIDER_SECOND_FACTORS.has(m));
}

/** The methods of a session opened through a provider: `oidc`, and `mfa` when the provider is marked `two_factor: true` or its `amr` says so. */
export function providerMethods(markedTwoFactor: boolean, amrClaim: unknown): readonly SignInMethod[] {
  return markedTwoFactor || providerAmrIsTwoFactor(amrClaim) ? ['oidc', 'mfa'] : ['oidc'];
}
