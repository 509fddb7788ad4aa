import { createHmac } from 'node:crypto';
import { isTwoFactor } from '../factors/session-methods.js';
import type { SessionData } from '../store/session-store.js';
import type { User, UserDirectory } from './user.js';

/** Who a request is, as the identity headers and the access rules see it. */
export interface Identity {
  readonly user: string;
  readonly role: string;
  readonly groups: readonly string[];
  readonly email: string;
  readonly name: string;
  readonly via: string;
  /** The session was signed in with two factors (access rules with `policy: two_factor`); absent: one. */
  readonly twoFactor?: boolean;
}

export interface SessionRules {
  /** Idle timeout in ms; 0 = off. */
  readonly inactivity: number;
  readonly passwordFingerprint: (user: User) => string;
  /**
   * The configured OIDC providers, each with the fingerprint of who it admits (see
   * admissionFingerprint): a session opened through a provider that is gone, or whose admission
   * rules changed since, no longer stands.
   */
  readonly oidcProviders?: ReadonlyMap<string, string>;
}

/**
 * A keyed fingerprint of the stored hash: changing a password revokes every older session, and the hash itself never enters a session.
 * A hash rewritten by a sign-in rehash keeps the fingerprint of the hash it replaced (user.sessionFingerprint): same password, same sessions.
 */
export function createPasswordFingerprint(secret: string): (user: User) => string {
  const cache = new WeakMap<User, string>();
  return (user) => {
    let fp = cache.get(user);
    if (fp === undefined) {
      fp = user.sessionFingerprint ?? createHmac('sha256', secret).update(user.password).digest('base64url').slice(0, 16);
      cache.set(user, fp);
    }
    return fp;
  };
}

/** Whether a stored session still stands on its own terms (lifetime, idle time), before any user lookup. */
export function sessionIsCurrent(data: SessionData, now: number, inactivity: number): boolean {
  if (typeof data.expires !== 'number' || data.expires <= now) return false;
  // An anonymous holder (user '', a sign-in at a provider in flight) lives by its own short `expires`:
  // a person may spend longer than the idle timeout at the provider's login page.
  if (inactivity > 0 && data.user !== '' && (typeof data.seen !== 'number' || now - data.seen > inactivity)) return false;
  return true;
}

/**
 * The identity a session stands for right now: the user must still exist, be enabled, and have the
 * password the session was opened with. Edits to the users file therefore take effect on the next request.
 */
export function identityOf(data: SessionData, users: UserDirectory, rules: SessionRules, now: number): Identity | undefined {
  if (!sessionIsCurrent(data, now, rules.inactivity)) return undefined;
  // A session opened through a provider (including a local user linked by email) ends with that provider's configuration.
  if (data.idp !== undefined && (typeof data.idp !== 'string' || rules.oidcProviders?.get(data.idp) !== data.adm)) return undefined;
  if (data.via.startsWith(OIDC_VIA_PREFIX)) return oidcIdentityOf(data, users);
  if (data.via !== 'local') return undefined;
  const user = users.find(data.user);
  if (!user || user.disabled) return undefined;
  if (data.pwv !== rules.passwordFingerprint(user)) return undefined;
  return localIdentity(user, isTwoFactor(data));
}

/**
 * One Identity object per User object: the users file replaces its User objects when it changes, so
 * an edit yields a new identity, and everything derived per identity (the verify path's header block)
 * is built once instead of on every request.
 */
const localIdentities = { one: new WeakMap<User, Identity>(), two: new WeakMap<User, Identity>() };

/** `twoFactor`: signed in with a second factor; false for app passwords and Basic, which are one. */
export function localIdentity(user: User, twoFactor = false): Identity {
  const cache = twoFactor ? localIdentities.two : localIdentities.one;
  let identity = cache.get(user);
  if (identity === undefined) {
    identity = { user: user.username, role: user.role, groups: user.groups, email: user.email, name: user.name, via: 'local', twoFactor };
    cache.set(user, identity);
  }
  return identity;
}

/** `via` of a session opened through an OIDC provider: `oidc:<provider id>`. */
export const OIDC_VIA_PREFIX = 'oidc:';

/**
 * An OIDC session carries its identity, mapped at sign-in (handlers/oidc-callback.ts): no lookup, no I/O.
 * It stops standing when a local user of the same name appears: one Remote-User must never stand
 * for two people.
 */
function oidcIdentityOf(data: SessionData, users: UserDirectory): Identity | undefined {
  // The session cache hands out one SessionData object per read, so the mapping is done once per read.
  let identity = oidcIdentities.get(data);
  if (identity === undefined) {
    const { user, role, groups, email, name, via } = data;
    if (data.idp !== via.slice(OIDC_VIA_PREFIX.length)) return undefined;
    if (user === '' || typeof role !== 'string' || typeof email !== 'string' || typeof name !== 'string') return undefined;
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) return undefined;
    identity = { user, role, groups: groups as string[], email, name, via, twoFactor: isTwoFactor(data) };
    oidcIdentities.set(data, identity);
  }
  return users.find(identity.user) ? undefined : identity;
}

const oidcIdentities = new WeakMap<SessionData, Identity>();
