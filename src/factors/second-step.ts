/**
 * What a session holds between two steps (pure: http/session-data.ts stores it, these read it):
 *
 * - a sign-in whose password was right and whose second factor is still to come
 *   (`mfa_pending`): the session is an anonymous holder meanwhile, never an identity, so verify
 *   answers as for anyone not signed in;
 * - an authenticator app being enrolled (`totp_pending`): the new secret, sealed, until one valid
 *   code confirms it.
 *
 * Both last five minutes. Anything of another shape is nothing.
 */
import { ANONYMOUS_VIA } from '../oidc/pending.js';
import type { SessionData } from '../store/session-store.js';

export const SECOND_STEP_KEY = 'mfa_pending';
export const ENROLMENT_KEY = 'totp_pending';
export const PENDING_TTL_MS = 5 * 60_000;

export interface PendingSecondStep {
  /** Normalised username whose password was right. */
  readonly user: string;
  /** The password fingerprint at that moment: a password changed meanwhile voids the step. */
  readonly pwv: string;
  /** "Keep me signed in" was ticked. */
  readonly rem: boolean;
  readonly created: number;
}

export interface PendingEnrolment {
  readonly user: string;
  /** The new base32 secret, sealed (secret-box.ts) under the context enrolmentContext(user). */
  readonly secret: string;
  readonly created: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const live = (created: unknown, now: number): boolean => typeof created === 'number' && created <= now && now - created <= PENDING_TTL_MS;

export function parsePendingSecondStep(value: unknown, now: number): PendingSecondStep | undefined {
  if (!isRecord(value) || typeof value.user !== 'string' || typeof value.pwv !== 'string' || typeof value.rem !== 'boolean' || !live(value.created, now)) return undefined;
  return { user: value.user, pwv: value.pwv, rem: value.rem, created: value.created as number };
}

export function parsePendingEnrolment(value: unknown, user: string, now: number): PendingEnrolment | undefined {
  if (!isRecord(value) || value.user !== user || typeof value.secret !== 'string' || !live(value.created, now)) return undefined;
  return { user, secret: value.secret, created: value.created as number };
}

/** The context a pending secret is sealed under: it opens for this user's enrolment only. */
export function enrolmentContext(user: string): string {
  return `totp-pending:${user}`;
}

/** The anonymous holder session that carries a pending second step. */
export function secondStepHolder(pending: PendingSecondStep): SessionData {
  return { user: '', via: ANONYMOUS_VIA, created: pending.created, seen: pending.created, expires: pending.created + PENDING_TTL_MS, [SECOND_STEP_KEY]: pending };
}
