/**
 * Listing and ending sessions, for people who manage them: `postern sessions list|revoke` and the
 * admin page. No Koa, no terminal: callers word their own messages.
 *
 * A session is named by its handle (store/session-store.ts sessionHandle), never by its id: the id is
 * the cookie value, a bearer secret. Every replica refuses a destroyed session within 1 second (the
 * store's read cache, store/cached-store.ts, holds an entry for at most half of that).
 */
import { normaliseUsername } from '../auth/username.js';
import { sessionHandle, sessionMethod, type SessionStore, type StoredSession } from '../store/session-store.js';

/** Characters of the handle shown as ID. */
export const SHOWN_ID_CHARS = 8;

/** What a session shows of itself: one line of `sessions list`, one object of `--json`, one row of /admin. */
export interface SessionRow {
  readonly id: string;
  readonly user: string;
  readonly method: string;
  readonly created: string;
  readonly last_seen: string;
  readonly address: string;
  readonly agent: string;
}

/** ISO 8601 to the second, in UTC: one token, so the CLI's columns stay splittable by whitespace. */
export function isoSecond(ms: number): string {
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 19)}Z` : '-';
}

/** What a session shows of itself. Never its id. */
export function sessionRow({ id, data }: StoredSession): SessionRow {
  return {
    id: sessionHandle(id).slice(0, SHOWN_ID_CHARS),
    user: data.user,
    method: sessionMethod(data),
    created: isoSecond(data.created),
    last_seen: isoSecond(data.seen),
    address: typeof data.ip === 'string' && data.ip !== '' ? data.ip : '-',
    agent: typeof data.ua === 'string' && data.ua !== '' ? data.ua : '-',
  };
}

/**
 * The live sessions of `user` as given and, when that differs, as the users file writes it
 * (normalised). Only that user's are read (the store's per-user index).
 */
export async function sessionsOf(store: Pick<SessionStore, 'listByUser'>, user: string): Promise<StoredSession[]> {
  const found = await store.listByUser(user);
  const normal = normaliseUsername(user);
  return normal === user ? found : [...found, ...(await store.listByUser(normal))];
}

/** The live sessions of `user` (sessionsOf), or every user's when `user` is undefined. */
export async function listSessions(store: Pick<SessionStore, 'listAll' | 'listByUser'>, user?: string): Promise<StoredSession[]> {
  return user === undefined ? store.listAll() : sessionsOf(store, user);
}

/** Which session a handle (or a prefix of one) names: exactly one, or why not. */
export type HandleMatch =
  | { readonly ok: true; readonly session: StoredSession }
  | { readonly ok: false; readonly problem: 'not a handle' | 'none' | 'ambiguous'; readonly count: number; readonly prefix: string };

/**
 * The one session whose handle starts with `prefix` (lower-cased, trimmed). Unknown and ambiguous
 * prefixes are not matches, so that a revoke never ends a session nobody named.
 */
export function sessionByHandle(sessions: readonly StoredSession[], prefix: string): HandleMatch {
  const wanted = prefix.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(wanted)) return { ok: false, problem: 'not a handle', count: 0, prefix: wanted };
  const matches = sessions.filter((s) => sessionHandle(s.id).startsWith(wanted));
  if (matches.length === 1) return { ok: true, session: matches[0]! };
  return { ok: false, problem: matches.length === 0 ? 'none' : 'ambiguous', count: matches.length, prefix: wanted };
}

/**
 * Ends the one session `prefix` names, if it names exactly one; says which, or why nothing was ended.
 * With `of`, only that user's sessions are looked at: anyone else's handle names none.
 */
export async function revokeSession(store: Pick<SessionStore, 'listAll' | 'listByUser' | 'destroy'>, prefix: string, of?: { readonly user: string }): Promise<HandleMatch> {
  const match = sessionByHandle(await listSessions(store, of?.user), prefix);
  if (match.ok) await store.destroy(match.session.id);
  return match;
}

/** The sessions of a user that an ending leaves standing. */
export interface SessionsKept {
  /** A store id: the session a change was made from. */
  readonly keep?: string | undefined;
  /** A password fingerprint (`pwv`): the sessions opened with the user's new password. */
  readonly keepFingerprint?: string | undefined;
}

/**
 * Ends every session of `user` (as given and normalised) but those `options` keeps; returns the
 * sessions ended.
 */
export async function revokeSessionsOf(store: Pick<SessionStore, 'listByUser' | 'destroy'>, user: string, options: SessionsKept = {}): Promise<StoredSession[]> {
  const kept = (s: StoredSession): boolean => s.id === options.keep || (options.keepFingerprint !== undefined && s.data.pwv === options.keepFingerprint);
  const doomed = (await sessionsOf(store, user)).filter((s) => !kept(s));
  for (const session of doomed) await store.destroy(session.id);
  return doomed;
}
