/**
 * Sign-ins in flight: started at `/oidc/<id>/start`, not yet back at the callback.
 *
 * Each is kept server-side in the session of the browser that started it (the cookie carries only
 * the session id), so a callback is accepted only from that browser, within 10 minutes, once.
 * A visitor who is not signed in gets an "anonymous holder" session for this: `user: ''`,
 * `via: 'anonymous'`, which is never an identity (see auth/session-subject.ts).
 *
 * A few can be pending at once (two tabs opened on two protected apps); the oldest is dropped
 * beyond MAX_PENDING_LOGINS. Plain functions over the list (http/session-data.ts reads and writes
 * it in the session): no Koa, no I/O.
 */
import { constantEquals } from '../auth/constant-equals.js';
import type { SessionData } from '../store/session-store.js';

export interface PendingLogin {
  /** Provider id. */
  readonly provider: string;
  readonly state: string;
  readonly nonce: string;
  /** PKCE code verifier. */
  readonly verifier: string;
  /** The validated destination after sign-in. */
  readonly rd?: string;
  /** Epoch ms. */
  readonly created: number;
}

export const PENDING_LOGIN_TTL_MS = 10 * 60_000;
export const MAX_PENDING_LOGINS = 3;
/** The session key holding the list. */
export const PENDING_KEY = 'oidc_pending';
/** An anonymous holder outlives its newest record a little, so an expired record is reported as expired, not as unknown. */
const HOLDER_GRACE_MS = 5 * 60_000;
export const ANONYMOUS_VIA = 'anonymous';

function isPending(value: unknown): value is PendingLogin {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.provider === 'string' &&
    typeof v.state === 'string' &&
    typeof v.nonce === 'string' &&
    typeof v.verifier === 'string' &&
    (v.rd === undefined || typeof v.rd === 'string') &&
    typeof v.created === 'number'
  );
}

/** The stored list, as read from a session: anything that is not a well-formed record is dropped. */
export function parsePendingLogins(value: unknown): PendingLogin[] {
  return Array.isArray(value) ? value.filter(isPending) : [];
}

/** The pending sign-ins still in their 10 minutes, to carry over when a sign-in replaces the session. */
export function livePendingLogins(list: readonly PendingLogin[], now: number): PendingLogin[] {
  return list.filter((p) => now - p.created <= PENDING_LOGIN_TTL_MS);
}

/** The list with one more sign-in in flight (the oldest dropped beyond MAX_PENDING_LOGINS). */
export function addPendingLogin(list: readonly PendingLogin[], pending: PendingLogin, now: number): PendingLogin[] {
  return [...livePendingLogins(list, now), pending].slice(-MAX_PENDING_LOGINS);
}

/**
 * The session fields to write with a sign-in started: a visitor who is not signed in becomes an
 * anonymous holder (or stays one, living as long as its newest record needs). A signed-in session
 * is left as it is.
 */
export function holderFields(session: SessionData | undefined, now: number): Partial<SessionData> {
  if (session !== undefined && session.user !== '') return {};
  const created = session === undefined ? { user: '', via: ANONYMOUS_VIA, created: now } : {};
  return { ...created, seen: now, expires: now + PENDING_LOGIN_TTL_MS + HOLDER_GRACE_MS };
}

export type TakenLogin =
  | { readonly status: 'found'; readonly pending: PendingLogin }
  | { readonly status: 'expired'; readonly pending: PendingLogin }
  /** No record with this state for this provider: never started here, already used, or another browser's. */
  | { readonly status: 'unknown' };

/**
 * Removes the record this callback names (provider and state) from the list, whatever happens
 * next: a record is usable once. Expired records of any provider are dropped on the way; `rest`
 * is the list to store back.
 */
export function takePendingLogin(
  list: readonly PendingLogin[],
  providerId: string,
  state: string | undefined,
  now: number,
): { readonly taken: TakenLogin; readonly rest: PendingLogin[] } {
  let match: PendingLogin | undefined;
  const rest: PendingLogin[] = [];
  for (const pending of list) {
    if (match === undefined && state !== undefined && pending.provider === providerId && constantEquals(pending.state, state)) match = pending;
    else if (now - pending.created <= PENDING_LOGIN_TTL_MS) rest.push(pending);
  }
  if (match === undefined) return { taken: { status: 'unknown' }, rest };
  return { taken: now - match.created > PENDING_LOGIN_TTL_MS ? { status: 'expired', pending: match } : { status: 'found', pending: match }, rest };
}

/** True for an anonymous holder with nothing left to hold: the caller may delete the session. */
export function isEmptyHolder(session: SessionData | undefined, list: readonly PendingLogin[]): boolean {
  return session?.user === '' && list.length === 0;
}
