import type { Context } from 'koa';
import type { SessionData } from '../store/session-store.js';
import { identityOf, type Identity, type SessionRules } from './identity.js';
import type { UserDirectory } from './user.js';

export interface SubjectDeps {
  readonly users: UserDirectory;
  readonly rules: SessionRules;
  readonly now: () => number;
}

/** How stale `seen` may get before a request refreshes it: bounds writes to one per minute per session. */
const SEEN_REFRESH_MS = 60_000;

/**
 * The identity behind this request's session cookie, or undefined. A session that no longer stands
 * (user removed or disabled, password changed) is destroyed on the spot.
 */
export function currentIdentity(ctx: Context, deps: SubjectDeps): Identity | undefined {
  const session = ctx.session;
  if (!session || session.isNew || typeof session.user !== 'string') return undefined;
  // An anonymous holder (a sign-in at a provider in flight, oidc/pending.ts) is nobody, and must survive until the callback.
  if (session.user === '') return undefined;
  const data = session as unknown as SessionData;
  const now = deps.now();
  const identity = identityOf(data, deps.users, deps.rules, now);
  if (!identity) {
    ctx.session = null;
    return undefined;
  }
  if (deps.rules.inactivity > 0 && now - data.seen > Math.min(SEEN_REFRESH_MS, deps.rules.inactivity / 4)) {
    session.seen = now;
  }
  return identity;
}
