/**
 * POST /login once the password is right: the throttle gives back what the attempt took, an old
 * hash is rewritten, and then either the second step begins (not signed in yet) or the session starts.
 */
import type { Context } from 'koa';
import type { PasswordHasher } from '../auth/passwords.js';
import type { Rehasher } from '../auth/rehash.js';
import type { SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import { startSession } from '../http/session-data.js';
import { sessionOrigin } from '../http/session-origin.js';
import type { Logger } from '../log/logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import type { SessionData } from '../store/session-store.js';
import type { createAdmission } from './login-admission.js';

export interface AcceptedDeps extends SubjectDeps {
  readonly hasher: PasswordHasher;
  readonly logger: Logger;
  /** Absolute URLs of our own pages. */
  readonly urls: { readonly home: string };
  readonly ttl: number;
  /** 0 hides the "remember me" checkbox. */
  readonly rememberMe: number;
  /** Rewrites a hash that is not argon2id at the configured parameters after a successful sign-in. */
  readonly rehasher?: Rehasher;
  /** Sign-ins and throttle refusals are counted here (metrics.port); nothing when not given. */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
  /** The second step (handlers/two-factor-step.ts): after a right password, a user with a factor is sent to `url` instead of signed in. */
  readonly secondStep?: {
    readonly url: string;
    needed(user: User): boolean;
    begin(ctx: Context, user: User, remember: boolean): Promise<void>;
  };
}

/** The attempt as submit read it: where to go after, "remember me", who asked, and the trusted device it came from. */
export interface Attempt {
  readonly rd: string | undefined;
  readonly remember: boolean;
  readonly clientIp: string;
  readonly deviceId: string | undefined;
}

type Admission = Pick<ReturnType<typeof createAdmission>, 'succeeded'>;

export function createPasswordAccepted(deps: AcceptedDeps, admission: Admission) {
  const metrics = deps.metrics ?? noMetrics;

  async function signIn(ctx: Context, user: User, rememberMe: boolean): Promise<void> {
    const now = deps.now();
    const lifetime = rememberMe && deps.rememberMe > 0 ? deps.rememberMe : deps.ttl;
    const data: SessionData = { user: user.username, via: 'local', created: now, expires: now + lifetime, seen: now, pwv: deps.rules.passwordFingerprint(user), amr: ['pwd'], ...sessionOrigin(ctx) };
    await startSession(ctx, data, rememberMe && deps.rememberMe > 0 ? deps.rememberMe : 'session', now);
  }

  return async function accepted(ctx: Context, user: User, password: string, attempt: Attempt): Promise<void> {
    const { rd, clientIp, deviceId } = attempt;
    await admission.succeeded(ctx, clientIp, user, deviceId);
    // Not awaited: the sign-in never waits for, or fails with, the users-file rewrite (it logs its own outcome).
    if (deps.rehasher && deps.hasher.needsRehash(user.password)) void deps.rehasher.rehash(user.username, password, user.password);
    // Not signed in yet: the session only holds the pending step, and verify still answers as for anyone.
    if (deps.secondStep?.needed(user)) {
      await deps.secondStep.begin(ctx, user, attempt.remember);
      deps.logger.info({ event: 'login.second_step', user: user.username, client: clientIp, ...(deviceId ? { device: true } : {}) }, 'password accepted; asking for the second factor');
      ctx.status = 303;
      ctx.redirect(rd ? `${deps.secondStep.url}?rd=${encodeURIComponent(rd)}` : deps.secondStep.url);
      return;
    }
    await signIn(ctx, user, attempt.remember);
    metrics.signIn('password', 'success');
    deps.logger.info({ event: 'login.success', user: user.username, client: clientIp, ...(deviceId ? { device: true } : {}) }, 'signed in');
    ctx.status = 303;
    ctx.redirect(rd ?? deps.urls.home);
  };
}
