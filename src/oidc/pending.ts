/**
 * Sign-ins in flight: started at `/oidc/<id>/start`, not yet back at the callback.
 *
 * Each is kept server-side in the session of the browser that started it (the cookie carries only
 * the session id), so a callback is accepted only from that browser, within 10 minutes, once.
 * A visitor who is not signed in gets an "anonymous holder" session for this: `user: ''`,
 * `via: 'anonymous'`, which is never an identity (see auth/session-subject.ts).
 *
 * A few can be pending at once (two tabs opened on two protected apps); the oldest is dropped
 * beyond MAX_PENDING_LOGINS. Plain functions over the session's data: no Koa, no I/O.
 */
import { constantEquals } from '../auth/constant-equals.js';

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

type SessionRecord = Record<string, unknown>;

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

function readList(session: SessionRecord): PendingLogin[] {
  const list = session[PENDING_KEY];
  return Array.isArray(list) ? list.filter(isPending) : [];
}

function writeList(session: SessionRecord, list: readonly PendingLogin[]): void {
  if (list.length > 0) session[PENDING_KEY] = list;
  else delete session[PENDING_KEY];
}

/** The pending sign-ins still in their 10 minutes, to carry over when a sign-in replaces the session. */
export function livePendingLogins(session: SessionRecord, now: number): PendingLogin[] {
  return readList(session).filter((p) => now - p.created <= PENDING_LOGIN_TTL_MS);
}

/** Records a sign-in in flight; turns a session without a user into an anonymous holder. */
export function addPendingLogin(session: SessionRecord, pending: PendingLogin, now: number): void {
  const list = [...livePendingLogins(session, now), pending].slice(-MAX_PENDING_LOGINS);
  writeList(session, list);
  if (typeof session.user !== 'string' || session.user === '') {
    if (typeof session.user !== 'string') {
      session.user = '';
      session.via = ANONYMOUS_VIA;
      session.created = now;
    }
    session.seen = now;
    session.expires = now + PENDING_LOGIN_TTL_MS + HOLDER_GRACE_MS;
  }
}

export type TakenLogin =
  | { readonly status: 'found'; readonly pending: PendingLogin }
  | { readonly status: 'expired'; readonly pending: PendingLogin }
  /** No record with this state for this provider: never started here, already used, or another browser's. */
  | { readonly status: 'unknown' };

/**
 * Removes and returns the record this callback names (provider and state), whatever happens next:
 * a record is usable once. Expired records of any provider are dropped on the way.
 */
export function takePendingLogin(session: SessionRecord, providerId: string, state: string | undefined, now: number): TakenLogin {
  const list = readList(session);
  let match: PendingLogin | undefined;
  const rest: PendingLogin[] = [];
  for (const pending of list) {
    if (match === undefined && state !== undefined && pending.provider === providerId && constantEquals(pending.state, state)) match = pending;
    else if (now - pending.created <= PENDING_LOGIN_TTL_MS) rest.push(pending);
  }
  writeList(session, rest);
  if (match === undefined) return { status: 'unknown' };
  return now - match.created > PENDING_LOGIN_TTL_MS ? { status: 'expired', pending: match } : { status: 'found', pending: match };
}

/** True for an anonymous holder with nothing left to hold: the caller may delete the session. */
export function isEmptyHolder(session: SessionRecord): boolean {
  return session.user === '' && readList(session).length === 0;
}
