/**
 * Turns a presented credential (http/credentials.ts) into an identity, or a refusal.
 *
 * App passwords: one map lookup by id and one SHA-256, never argon2 or PBKDF2. The owner must exist
 * and be enabled; a Basic username must be the owner. Unknown, revoked, expired and malformed tokens
 * are one outcome (`invalid`, answered 401) and cost the same work: a miss still hashes and compares.
 *
 * Account passwords over Basic (tokens.basic_account_password): the first check goes through the
 * sign-in throttle (counted before the hash) and the hasher; a verified pair is then remembered for
 * tokens.basic_cache_ttl under an HMAC of the pair with the server key, bound to the user's password
 * fingerprint and enabled state, so a password change or disable (a users-file reload) ends it at once.
 *
 * Every attempt first asks whether the address is already over its sign-in limit (before any lookup),
 * and every failure is charged to the address (LoginThrottle.takeAddress), as a wrong password is.
 * A success is then remembered by the text it was read from for a moment (verified-cache.ts: ≤ 500 ms,
 * dropped on every users-file reload), so a client repeating it skips the hash and the lookups.
 */
import { hasSecondFactor } from '../factors/factors.js';
import { createHmac } from 'node:crypto';
import { localIdentity, type Identity } from '../auth/identity.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { NOT_AT_HAND } from '../auth/throttle-refusals.js';
import { verifyUserPassword, type PasswordHasher } from '../auth/passwords.js';
import type { User, UserDirectory } from '../auth/user.js';
import { normaliseUsername } from '../auth/username.js';
import type { Credential } from '../http/credentials.js';
import { type AppPassword, secretMatches } from './app-password.js';
import type { TokenHolder } from './token-lookup.js';
import { createVerifiedCache } from './verified-cache.js';

export type AuthKind = 'session' | 'token' | 'basic';

export type CredentialOutcome =
  | { readonly kind: 'authenticated'; readonly identity: Identity; readonly auth: 'token' | 'basic'; readonly token?: AppPassword }
  | { readonly kind: 'refused'; readonly retryAfterSec: number }
  | { readonly kind: 'invalid' };

export interface CredentialAuthDeps {
  readonly lookup: (id: string) => TokenHolder | undefined;
  readonly throttle: LoginThrottle;
  readonly now: () => number;
  /** Records a token's use (at most once a minute per token, see last-use.ts). */
  readonly used: (id: string) => void;
  /** Changes on every users-file reload (UserDirectory.all()): the verified cache starts over. */
  readonly usersGeneration: () => unknown;
  /** Present only when tokens.basic_account_password is on. */
  readonly account?: {
    readonly users: UserDirectory;
    readonly hasher: PasswordHasher;
    readonly passwordFingerprint: (user: User) => string;
    /** The server key the remembered pairs are HMACed under. */
    readonly secret: string;
    readonly cacheTtlMs: number;
  };
}

const INVALID: CredentialOutcome = { kind: 'invalid' };
const DUMMY_HASH = '0'.repeat(64);
const MAX_REMEMBERED = 10_000;
/** The session read cache's bound (store/cached-store.ts), so a credential is revoked as fast as a session. */
const VERIFIED_TTL_MS = 500;


export function createCredentialAuthenticator(deps: CredentialAuthDeps) {
  const remembered = new Map<string, { username: string; fingerprint: string; until: number }>();
  type Authenticated = Extract<CredentialOutcome, { kind: 'authenticated' }>;
  const verified = createVerifiedCache<Authenticated>({ ttlMs: VERIFIED_TTL_MS, maxEntries: MAX_REMEMBERED, now: deps.now, generation: deps.usersGeneration });

  async function failure(ip: string): Promise<CredentialOutcome> {
    const charged = await deps.throttle.takeAddress(ip);
    return charged.allowed ? INVALID : { kind: 'refused', retryAfterSec: charged.retryAfterSec };
  }

  function tokenOutcome(c: Extract<Credential, { kind: 'token' }>): CredentialOutcome {
    const holder = deps.lookup(c.id);
    const matches = secretMatches(c.secret, holder?.token.hash ?? DUMMY_HASH);
    if (!holder || !matches || holder.user.disabled) return INVALID;
    if (holder.token.expires !== undefined && holder.token.expires <= deps.now()) return INVALID;
    if (c.basicUser !== undefined && normaliseUsername(c.basicUser) !== holder.user.username) return INVALID;
    deps.used(holder.token.id);
    return { kind: 'authenticated', identity: localIdentity(holder.user), auth: 'token', token: holder.token };
  }

  async function accountOutcome(c: Extract<Credential, { kind: 'account' }>, ip: string): Promise<CredentialOutcome> {
    const account = deps.account;
    if (!account) return INVALID;
    const key = createHmac('sha256', account.secret).update(c.username).update('\0').update(c.password).digest('base64url');
    const user = account.users.find(c.username);
    const now = deps.now();
    const hit = remembered.get(key);
    if (hit && hit.until > now && user && !user.disabled && !hasSecondFactor(user.factors) && user.username === hit.username && account.passwordFingerprint(user) === hit.fingerprint) {
      return { kind: 'authenticated', identity: localIdentity(user), auth: 'basic' };
    }
    if (hit) remembered.delete(key);
    // Counted before the hash, as a sign-in is: N concurrent guesses against a limit of L get at most L hashes.
    const check = await deps.throttle.take(ip, user?.username ?? normaliseUsername(c.username));
    if (!check.allowed) return { kind: 'refused', retryAfterSec: check.retryAfterSec };
    let ok: boolean;
    try {
      ok = await verifyUserPassword(account.hasher, user, c.password);
    } catch {
      ok = false; // a password over the length limit, or the hasher saturated: no credential this time
    }
    if (!ok || !user) return INVALID;
    // A password alone is one factor, and Basic cannot ask for a second: a user who has one uses an app password.
    if (hasSecondFactor(user.factors)) return INVALID;
    await deps.throttle.recordSuccess(ip, user.username);
    if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
    remembered.set(key, { username: user.username, fingerprint: account.passwordFingerprint(user), until: now + account.cacheTtlMs });
    return { kind: 'authenticated', identity: localIdentity(user), auth: 'basic' };
  }

  /** A success seen in this window, still unexpired; the owner's state is covered by the window and the reload. */
  function recentlyVerified(credential: Exclude<Credential, { kind: 'none' | 'malformed' }>): Authenticated | undefined {
    const hit = verified.get(credential.source);
    if (!hit || (hit.token?.expires !== undefined && hit.token.expires <= deps.now())) return undefined;
    if (hit.token) deps.used(hit.token.id);
    return hit;
  }

  async function outcomeOf(credential: Exclude<Credential, { kind: 'none' }>, ip: string): Promise<CredentialOutcome> {
    // A wrong account password was already counted by take(); only a refusal by it stands as is.
    if (credential.kind === 'account') return accountOutcome(credential, ip);
    const outcome = credential.kind === 'token' ? tokenOutcome(credential) : INVALID;
    return outcome.kind === 'invalid' ? failure(ip) : outcome;
  }

  /** The outcome for a presented credential (never `none`). */
  async function authenticate(credential: Exclude<Credential, { kind: 'none' }>, ip: string): Promise<CredentialOutcome> {
    const known = await deps.throttle.addressRefusal(ip);
    if (known && !known.allowed) return { kind: 'refused', retryAfterSec: known.retryAfterSec };
    if (credential.kind === 'malformed') return outcomeOf(credential, ip);
    const hit = recentlyVerified(credential);
    if (hit) return hit;
    const outcome = await outcomeOf(credential, ip);
    if (outcome.kind === 'authenticated') verified.set(credential.source, outcome);
    return outcome;
  }

  /**
   * The same outcome without waiting, when it is at hand: the address's refusal is known without a
   * counter read (with Redis), and the credential was verified in this window (or the address is
   * refused). Undefined: only authenticate() can tell. Same checks, in the same order.
   */
  function authenticateNow(credential: Exclude<Credential, { kind: 'none' }>, ip: string): CredentialOutcome | undefined {
    const known = deps.throttle.addressRefusalNow(ip);
    if (known === NOT_AT_HAND) return undefined;
    if (known && !known.allowed) return { kind: 'refused', retryAfterSec: known.retryAfterSec };
    return credential.kind === 'malformed' ? undefined : recentlyVerified(credential);
  }

  return { authenticate, authenticateNow };
}
