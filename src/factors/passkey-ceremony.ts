/**
 * A passkey ceremony in flight: the challenge Postern handed to this browser, kept server-side in
 * its session (the cookie carries only the session id), bound to what it was for.
 *
 * - One at a time per session: asking for new options replaces the challenge.
 * - Taken out of the session by the first response that names this kind, whatever the outcome:
 *   a challenge answers one response at most (a replayed response finds none, or another one).
 * - Bound to its kind (`register`, `sign-in`, `second-step`) and, except for a passwordless
 *   sign-in, to the user it was made for: a registration challenge cannot complete a sign-in.
 * - Good for CEREMONY_TTL_MS.
 *
 * Pure functions over the stored record; http/session-data.ts keeps it in the session.
 */

export type CeremonyKind = 'register' | 'sign-in' | 'second-step';

export interface Ceremony {
  readonly kind: CeremonyKind;
  /** base64url, as the options carried it. */
  readonly challenge: string;
  /** The user it was made for; absent for a passwordless sign-in (anyone's passkey may answer). */
  readonly user?: string;
  /** Epoch ms. */
  readonly created: number;
}

/** The session key holding the record. */
export const CEREMONY_KEY = 'passkey_ceremony';
/** Longer than the browser's own timeout (factors/passkeys.ts CEREMONY_TIMEOUT_MS), short enough to be useless later. */
export const CEREMONY_TTL_MS = 5 * 60_000;

const KINDS: readonly string[] = ['register', 'sign-in', 'second-step'];

/** The stored record, as read from a session; anything else is no ceremony. */
export function parseCeremony(value: unknown): Ceremony | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.kind !== 'string' || !KINDS.includes(v.kind)) return undefined;
  if (typeof v.challenge !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(v.challenge)) return undefined;
  if (v.user !== undefined && typeof v.user !== 'string') return undefined;
  if (typeof v.created !== 'number' || !Number.isFinite(v.created)) return undefined;
  return v as unknown as Ceremony;
}

/** Why a response found no challenge to answer; stable texts for the log. */
export type CeremonyRefusal = 'no challenge' | 'challenge for another ceremony' | 'challenge for another user' | 'challenge expired';

/**
 * The challenge a response of `kind` for `user` (undefined: passwordless) must answer, judged
 * against what the session held. The caller has already removed the record from the session.
 */
export function challengeFor(
  stored: Ceremony | undefined,
  kind: CeremonyKind,
  user: string | undefined,
  now: number,
): { readonly ok: true; readonly challenge: string } | { readonly ok: false; readonly reason: CeremonyRefusal } {
  if (stored === undefined) return { ok: false, reason: 'no challenge' };
  if (stored.kind !== kind) return { ok: false, reason: 'challenge for another ceremony' };
  if (stored.user !== user) return { ok: false, reason: 'challenge for another user' };
  if (now - stored.created > CEREMONY_TTL_MS || now < stored.created) return { ok: false, reason: 'challenge expired' };
  return { ok: true, challenge: stored.challenge };
}
