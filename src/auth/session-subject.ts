import type { Context } from 'koa';
import { currentSession, endSession, touchSession } from '../http/session-data.js';
import { ASK_STORE, type SessionData, type SessionStore } from '../store/session-store.js';
import { identityOf, sessionIsCurrent, type Identity, type SessionRules } from './identity.js';
import type { UserDirectory } from './user.js';

export interface SubjectDeps {
  readonly users: UserDirectory;
  readonly rules: SessionRules;
  readonly now: () => number;
}

/** How stale `seen` may get before a request refreshes it: bounds writes to one per minute per session. */
const SEEN_REFRESH_MS = 60_000;

function seenIsStale(data: SessionData, now: number, inactivity: number): boolean {
  return inactivity > 0 && now - data.seen > Math.min(SEEN_REFRESH_MS, inactivity / 4);
}

/**
 * Whether a refused session may be deleted, not only refused. Refusing is what protects; deleting is
 * clean-up. Only a session that ended on its own terms (lifetime, idle time: sessionIsCurrent) is
 * deleted. One refused for what the users file says (user removed or disabled, another password) is
 * kept: this replica's copy of the file may be up to a second older than the one the session was
 * stamped against (a password change re-stamps the session it was made from; another replica that
 * has not reloaded yet would otherwise delete that good session). Such sessions are ended
 * explicitly where the change is made (auth/password-change.ts endUserSessions, from the account
 * and admin pages and the CLI), or when a reload shows a hand edit of the users file that ends the
 * user's access (auth/end-access-on-reload.ts); else by their TTL.
 */
function deletable(data: SessionData, now: number, rules: SessionRules): boolean {
  return !sessionIsCurrent(data, now, rules.inactivity);
}

/**
 * The identity behind this request's session cookie, or undefined. A session that no longer stands
 * is refused; deleted too only when it has expired or idled out (see deletable).
 */
export function currentIdentity(ctx: Context, deps: SubjectDeps): Identity | undefined {
  const data = currentSession(ctx);
  // An anonymous holder (a sign-in at a provider in flight, oidc/pending.ts) is nobody, and must survive until the callback.
  if (!data || data.user === '') return undefined;
  const now = deps.now();
  const identity = identityOf(data, deps.users, deps.rules, now);
  if (!identity) {
    if (deletable(data, now, deps.rules)) endSession(ctx);
    return undefined;
  }
  if (seenIsStale(data, now, deps.rules.inactivity)) touchSession(ctx, now);
  return identity;
}

export interface SessionIdDeps extends SubjectDeps {
  readonly store: SessionStore;
  /** A background write (refresh or clean-up) failed; the request itself was already answered. */
  readonly onBackgroundError: (err: unknown) => void;
}

/** Longer than any id we issue (43 characters): anything longer is not ours, and is not looked up. */
const MAX_SESSION_ID = 128;

/**
 * The verify path's session read: one store read for the id in the session cookie, without
 * koa-session's per-request Session object and change tracking. Verify never sets a cookie, so
 * nothing else of koa-session is needed here. Same rules as currentIdentity: a session that no
 * longer stands is refused, and deleted only when it has expired or idled out.
 */
export async function identityFromSessionId(id: string | undefined, deps: SessionIdDeps): Promise<Identity | undefined> {
  if (!usableId(id)) return undefined;
  return identityFromData(id, await deps.store.get(id), deps);
}

/**
 * The same answer without waiting, when the store has the read at hand (SessionStore.readNow: a
 * fresh read in the cache); ASK_STORE when only identityFromSessionId can tell.
 */
export function identityFromSessionIdNow(id: string | undefined, deps: SessionIdDeps): Identity | undefined | typeof ASK_STORE {
  if (!usableId(id)) return undefined;
  const data = deps.store.readNow ? deps.store.readNow(id) : ASK_STORE;
  return data === ASK_STORE ? ASK_STORE : identityFromData(id, data, deps);
}

function usableId(id: string | undefined): id is string {
  return id !== undefined && id !== '' && id.length <= MAX_SESSION_ID;
}

function identityFromData(id: string, data: SessionData | undefined, deps: SessionIdDeps): Identity | undefined {
  if (!data || data.user === '') return undefined;
  const now = deps.now();
  const identity = identityOf(data, deps.users, deps.rules, now);
  if (!identity) {
    if (deletable(data, now, deps.rules)) deps.store.destroy(id).catch(deps.onBackgroundError);
    return undefined;
  }
  if (seenIsStale(data, now, deps.rules.inactivity)) {
    // Only if still stored: a logout between our read and this write must stay a logout.
    deps.store.setIfExists(id, { ...data, seen: now }, data.expires - now).catch(deps.onBackgroundError);
  }
  return identity;
}
