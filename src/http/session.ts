import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import createSession, { type CreateSessionOptions } from 'koa-session';
import { sessionIsCurrent } from '../auth/identity.js';
import { parseSessionData, type SessionData, type SessionStore } from '../store/session-store.js';

export interface SessionCookieOptions {
  readonly cookieName: string;
  /** Cookie Domain; undefined for a host-only cookie (localhost and IP addresses). */
  readonly cookieDomain: string | undefined;
  readonly inactivity: number;
  readonly now: () => number;
}

/** `localhost` and IP addresses cannot carry a Domain attribute that browsers honour: use a host-only cookie. */
export function cookieDomainFor(domain: string): string | undefined {
  if (domain === 'localhost' || /^[0-9.]+$/.test(domain) || domain.includes(':')) return undefined;
  return domain;
}

/** Names koa-session's Session object owns (methods and accessors): stored data must not overwrite them. */
const SESSION_MEMBERS = new Set(['toJSON', 'inspect', 'length', 'populated', 'maxAge', 'externalKey', 'isNew', 'save', 'regenerate', 'manuallyCommit', 'commit']);

/**
 * Stored data as koa-session may hold it: a well-formed session (parseSessionData) whose every key
 * can become a field of koa-session's Session: not `__proto__` (it would replace the object's
 * prototype), not one of its members, not a name every object has. Anything else is not a session
 * Postern wrote: the visitor is signed out. (The verify path reads the store without a Session
 * object, so there parseSessionData alone applies.)
 */
export function sessionForKoa(data: unknown): SessionData | undefined {
  const session = parseSessionData(data);
  return session && Object.keys(session).every((key) => !SESSION_MEMBERS.has(key) && !(key in Object.prototype)) ? session : undefined;
}

/** koa-session passes the request's context to its store calls (documented in its README). */
interface StoreCallContext {
  readonly ctx?: object;
}

/**
 * koa-session over our SessionStore. The cookie holds only a 256-bit random id; the data lives in the
 * store, whose TTL is the session's own `expires` (koa-session's maxAge only shapes the cookie).
 */
export function sessionMiddleware(app: Koa, store: SessionStore, opts: SessionCookieOptions): Middleware {
  // The id each request read from the store, so that a later write to that same id is known to follow a read.
  const readIds = new WeakMap<object, string>();
  // Cookie attributes (path, sameSite, domain) are passed through to `cookies` but missing from koa-session's option type.
  const options = {
    key: opts.cookieName,
    // A plain browser-session cookie unless "remember me" sets a maxAge at sign-in.
    maxAge: 'session',
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    signed: false,
    overwrite: true,
    ...(opts.cookieDomain ? { domain: opts.cookieDomain } : {}),
    genid: () => randomBytes(32).toString('base64url'),
    valid: (_ctx: unknown, data: unknown) => {
      const session = sessionForKoa(data);
      return session !== undefined && sessionIsCurrent(session, opts.now(), opts.inactivity);
    },
    store: {
      get: async (id: string, _maxAge: unknown, call?: StoreCallContext) => {
        const data = await store.get(id);
        if (data !== undefined && call?.ctx) readIds.set(call.ctx, id);
        const session = sessionForKoa(data);
        // koa-session takes a stored `_maxAge` as the cookie's lifetime when it writes the session again
        // (we do not store its own copy): a remembered session's cookie keeps lasting until `expires`.
        return session?.rem === 1 ? { ...session, _maxAge: Math.max(1, session.expires - opts.now()) } : session;
      },
      set: async (id: string, data: Record<string, unknown>, _maxAge: unknown, call?: StoreCallContext) => {
        // koa-session's own expiry fields duplicate `expires`: 64 bytes less per session in Redis.
        const { _expire, _maxAge: _, ...rest } = data;
        const session = parseSessionData(rest);
        const ttl = session === undefined ? 0 : session.expires - opts.now();
        if (session === undefined || !(ttl > 0)) await store.destroy(id);
        // An update of the session this request read (a refreshed `seen`) is written only if it is
        // still stored: a logout elsewhere in between stays a logout. A new id (a first write, or
        // regenerate() at sign-in) is written as is.
        else if (call?.ctx && readIds.get(call.ctx) === id) await store.setIfExists(id, session, ttl);
        else await store.set(id, session, ttl);
      },
      destroy: async (id: string) => store.destroy(id),
    },
  } as CreateSessionOptions;
  return createSession(options, app) as Middleware;
}
