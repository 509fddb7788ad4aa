/**
 * The one place that touches koa-session's `ctx.session`. koa-session keeps whatever fields it is
 * given; these functions give it only a SessionData (store/session-store.ts), the list of
 * sign-ins in flight (oidc/pending.ts) and a passkey ceremony in flight (factors/passkey-ceremony.ts),
 * and read them back through their parsers, so a stored
 * value of the wrong shape is a signed-out visitor, never an exception.
 */
import type { Context } from 'koa';
import { CEREMONY_KEY, parseCeremony, type Ceremony } from '../factors/passkey-ceremony.js';
import { livePendingLogins, parsePendingLogins, PENDING_KEY, type PendingLogin } from '../oidc/pending.js';
import type { SessionData } from '../store/session-store.js';
import { sessionForKoa } from './session.js';

/**
 * What we use of koa-session's Session object: its public members, and the fields it holds
 * (Koa types `ctx.session` as `any`; this is the only place that gives it a type).
 */
interface KoaSession {
  readonly isNew: boolean;
  maxAge: number | 'session' | undefined;
  toJSON(): Record<string, unknown>;
  regenerate(): Promise<void> | undefined;
  [field: string]: unknown;
}

/** This request's session; koa-session creates an empty one on first access when the cookie named none. */
function session(ctx: Context): KoaSession {
  return ctx.session;
}

/** The session this request came with (read from the store, not one begun by this request), or undefined. */
export function currentSession(ctx: Context): SessionData | undefined {
  const current: KoaSession | null = ctx.session;
  if (!current || current.isNew) return undefined;
  return sessionForKoa(current.toJSON());
}

/**
 * Replaces whatever the session held with `data` under a fresh id. `maxAge` shapes the cookie: a
 * number for "remember me", 'session' for a browser-session cookie.
 *
 * Every way a session starts (password, second step, passkey, provider callback, a restart) keeps
 * the sign-ins in flight at `now` (oidc/pending.ts livePendingLogins): they belong to this same
 * browser, started in other tabs, and their callbacks must still find them. Only the id is new.
 */
export async function startSession(ctx: Context, data: SessionData, maxAge: number | 'session', now: number): Promise<void> {
  const fresh = session(ctx);
  const pending = livePendingLogins(pendingLogins(ctx), now);
  for (const key of Object.keys(fresh.toJSON())) delete fresh[key];
  Object.assign(fresh, data);
  if (pending.length > 0) fresh[PENDING_KEY] = pending;
  // Remembered, so that a later write of this session (a refreshed `seen`) keeps the cookie persistent.
  if (typeof maxAge === 'number') fresh.rem = 1;
  fresh.maxAge = maxAge;
  // A fresh id at sign-in: an id planted before sign-in (session fixation) is worth nothing after it.
  await fresh.regenerate();
}

/**
 * The store id of the session this request came with (the cookie's value), or undefined. A bearer
 * secret: compare and pass it on, never show or log it (store/session-store.ts sessionHandle names it).
 */
export function currentSessionId(ctx: Context): string | undefined {
  const current: (KoaSession & { readonly externalKey?: string }) | null = ctx.session;
  if (!current || current.isNew) return undefined;
  return current.externalKey;
}

/**
 * The current session again under a fresh id, with `changes` (a password change stamps the new
 * password's fingerprint): the old id is deleted, the cookie keeps its kind (remembered until
 * `expires`, or a browser-session cookie).
 */
export async function restartSession(ctx: Context, changes: Partial<SessionData>, now: number): Promise<void> {
  const data = currentSession(ctx);
  if (!data) throw new Error('restartSession needs a current session');
  const { _expire, _maxAge, ...kept } = data;
  const maxAge = data.rem === 1 ? Math.max(1, data.expires - now) : 'session';
  await startSession(ctx, { ...kept, ...changes } as SessionData, maxAge, now);
}

/** Records activity (the inactivity timeout counts from `seen`). */
export function touchSession(ctx: Context, now: number): void {
  session(ctx).seen = now;
}

/** Deletes the session from the store and clears the cookie. */
export function endSession(ctx: Context): void {
  ctx.session = null;
}

/** The sign-ins in flight kept in this browser's session (possibly none). */
export function pendingLogins(ctx: Context): PendingLogin[] {
  const current: KoaSession | null = ctx.session;
  return parsePendingLogins(current?.[PENDING_KEY]);
}

/**
 * Stores the list of sign-ins in flight (an empty list removes the key), with `holder`: the
 * fields that make a visitor who is not signed in an anonymous holder (oidc/pending.ts holderFields).
 */
export function setPendingLogins(ctx: Context, list: readonly PendingLogin[], holder: Partial<SessionData> = {}): void {
  const record = session(ctx);
  if (list.length > 0) record[PENDING_KEY] = list;
  else delete record[PENDING_KEY];
  Object.assign(record, holder);
}

/**
 * Keeps the passkey ceremony this browser was just given (replacing any other), with `holder`: the
 * fields that make a visitor who is not signed in an anonymous holder (oidc/pending.ts holderFields).
 */
export function setPasskeyCeremony(ctx: Context, ceremony: Ceremony, holder: Partial<SessionData> = {}): void {
  const record = session(ctx);
  record[CEREMONY_KEY] = ceremony;
  Object.assign(record, holder);
}

/** Removes the passkey ceremony from the session and returns it (undefined when none was kept): each is answered once. */
export function takePasskeyCeremony(ctx: Context): Ceremony | undefined {
  const ceremony = parseCeremony(sessionField(ctx, CEREMONY_KEY));
  setSessionField(ctx, CEREMONY_KEY, undefined);
  return ceremony;
}

/**
 * A field of this request's session that its own module parses (factors/second-step.ts): the raw
 * value, or undefined when there is no session. The caller's parser decides what it is.
 */
export function sessionField(ctx: Context, key: string): unknown {
  const current: KoaSession | null = ctx.session;
  return current && !current.isNew ? current[key] : undefined;
}

/** Sets (or with undefined removes) a field of a session that exists; a visitor without one is left alone. */
export function setSessionField(ctx: Context, key: string, value: unknown): void {
  const current: KoaSession | null = ctx.session;
  if (!current || current.isNew) return;
  if (value === undefined) delete current[key];
  else current[key] = value;
}
