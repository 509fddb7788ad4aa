/**
 * `/login/2fa`: the second step of a password sign-in, and the step-up a `two_factor` access rule
 * asks of a session signed in with one factor. One page, one form: a code from the authenticator
 * app, or a recovery code.
 *
 * - Who is asking comes from the session only: a pending sign-in (an anonymous holder carrying
 *   `mfa_pending`, see factors/second-step.ts), or a signed-in local user.
 * - Every attempt takes a point from the sign-in throttle before anything is checked; a wrong,
 *   reused, expired or malformed code gets one generic failure.
 * - Success starts the session afresh (a new id) with the methods it now has (`amr`).
 */
import type { Context } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import type { FactorCheck } from '../factors/factor-check.js';
import { hasSecondFactor } from '../factors/factors.js';
import { parsePendingSecondStep, secondStepHolder, SECOND_STEP_KEY, type PendingSecondStep } from '../factors/second-step.js';
import { withMethod } from '../factors/session-methods.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { currentSession, pendingLogins, restartSession, sessionField, startSession } from '../http/session-data.js';
import { sessionOrigin } from '../http/session-origin.js';
import type { Logger } from '../log/logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import type { SessionData } from '../store/session-store.js';
import { messagePage } from '../views/message-page.js';
import { twoFactorPage, type TwoFactorPageModel } from '../views/two-factor-page.js';
import { refusalScope, retryInWords } from './login.js';

export interface TwoFactorDeps extends SubjectDeps {
  readonly csrf: Csrf;
  readonly throttle: LoginThrottle;
  readonly check: FactorCheck;
  readonly redirectPolicy: RedirectPolicy;
  readonly logger: Logger;
  readonly urls: { readonly login: string; readonly home: string; readonly secondFactor: string; readonly account: string; readonly enrolTotp: string };
  readonly ttl: number;
  readonly rememberMe: number;
  /** two_factor.required_for_enrolled */
  readonly requiredForEnrolled: boolean;
  /** two_factor.enrol_on_sign_in */
  readonly enrolOnSignIn: boolean;
  /** Second steps and their throttle refusals are counted here (metrics.port); nothing when not given. */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
  /** PASSKEYS SEAM: more ways to confirm, shown on the page (see TwoFactorPageModel.alternatives). */
  readonly alternatives?: (ctx: Context, user: User, rd: string | undefined) => TwoFactorPageModel['alternatives'];
}

const GENERIC_FAILURE = 'That code is not valid. Check the time on your phone, wait for the next code, and try again.';

/** Who this request is, as far as the second step is concerned. */
export type Asker =
  | { readonly kind: 'pending'; readonly user: User; readonly pending: PendingSecondStep }
  | { readonly kind: 'step-up'; readonly user: User; readonly session: SessionData }
  | { readonly kind: 'done' }
  /** Signed in, but not as a local user (a provider's session): no local factor to ask for. */
  | { readonly kind: 'foreign' }
  | { readonly kind: 'nobody' };

const withRd = (url: string, rd: string | undefined): string => (rd ? `${url}?rd=${encodeURIComponent(rd)}` : url);

export function createTwoFactorHandlers(deps: TwoFactorDeps) {
  const metrics = deps.metrics ?? noMetrics;
  function asker(ctx: Context): Asker {
    const identity = currentIdentity(ctx, deps);
    if (identity) {
      if (identity.twoFactor) return { kind: 'done' };
      const user = identity.via === 'local' ? deps.users.find(identity.user) : undefined;
      const session = currentSession(ctx);
      return user && session ? { kind: 'step-up', user, session } : { kind: 'foreign' };
    }
    const pending = parsePendingSecondStep(sessionField(ctx, SECOND_STEP_KEY), deps.now());
    const user = pending && deps.users.find(pending.user);
    // A password changed (or the user disabled) since the first step voids it.
    if (!pending || !user || user.disabled || deps.rules.passwordFingerprint(user) !== pending.pwv) return { kind: 'nobody' };
    return { kind: 'pending', user, pending };
  }

  function render(ctx: Context, status: number, user: User, rd: string | undefined, error?: string): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = twoFactorPage({
      action: deps.urls.secondFactor,
      csrf: deps.csrf.token(ctx, ctx.state.facts.https),
      rd,
      destinationHost: rd ? new URL(rd).host : undefined,
      username: user.username,
      error,
      totp: user.factors?.totp !== undefined,
      recovery: (user.factors?.recovery?.codes.length ?? 0) > 0,
      ...(deps.alternatives ? { alternatives: deps.alternatives(ctx, user, rd) } : {}),
    });
  }

  /** Answers a request for which there is no factor to ask (true), or leaves it to the form (false). */
  function nothingToAsk(ctx: Context, who: Asker, rd: string | undefined): boolean {
    if (who.kind === 'nobody') ctx.redirect(withRd(deps.urls.login, rd));
    else if (who.kind === 'done') ctx.redirect(rd ?? deps.urls.home);
    else if (who.kind === 'foreign') {
      ctx.status = 403;
      ctx.type = 'html';
      ctx.body = messagePage('Second factor needed', 'This site asks for a second factor, and your single sign-on provider did not confirm one. Sign out and sign in again with a second factor at your provider.', { href: deps.urls.home, text: 'Go to the sign-in home page' });
    } else if (!hasSecondFactor(who.user.factors)) {
      if (deps.enrolOnSignIn) {
        ctx.redirect(withRd(deps.urls.enrolTotp, rd));
        return true;
      }
      ctx.status = 403;
      ctx.type = 'html';
      ctx.body = messagePage('Second factor needed', 'This site asks for a second factor, and your account has none yet. Add an authenticator app on your account page, then open the site again.', { href: withRd(deps.urls.enrolTotp, rd), text: 'Add an authenticator app' });
    } else return false;
    return true;
  }

  async function complete(ctx: Context, who: Extract<Asker, { kind: 'pending' | 'step-up' }>, method: 'otp' | 'recovery' | 'hwk'): Promise<void> {
    const now = deps.now();
    const keep = pendingLogins(ctx);
    if (who.kind === 'pending') {
      const remember = who.pending.rem && deps.rememberMe > 0;
      const lifetime = remember ? deps.rememberMe : deps.ttl;
      const data: SessionData = { user: who.user.username, via: 'local', created: now, expires: now + lifetime, seen: now, pwv: who.pending.pwv, amr: ['pwd', method], ...sessionOrigin(ctx) };
      await startSession(ctx, data, remember ? deps.rememberMe : 'session', keep);
      return;
    }
    const { session } = who;
    // The same session, stepped up: its lifetime unchanged, under a fresh id.
    await restartSession(ctx, { seen: now, amr: withMethod(session.amr ?? (session.via === 'local' ? ['pwd'] : []), method) }, now);
  }

  return {
    /**
     * PASSKEYS SEAM: "Use a passkey" (handlers/passkey-second-step.ts) is another way to answer this
     * page: the same asker, page, checks of who may answer, and completion (method `hwk`).
     */
    asker,
    render,
    nothingToAsk,
    complete,

    /** After a right password (handlers/login.ts): whether a second step follows for this user. */
    needed(user: User): boolean {
      return deps.requiredForEnrolled && hasSecondFactor(user.factors);
    },

    /** Makes this browser's session an anonymous holder of the pending step, under a fresh id. */
    async begin(ctx: Context, user: User, remember: boolean): Promise<void> {
      const pending: PendingSecondStep = { user: user.username, pwv: deps.rules.passwordFingerprint(user), rem: remember, created: deps.now() };
      await startSession(ctx, secondStepHolder(pending), 'session', pendingLogins(ctx));
    },

    async show(ctx: Context): Promise<void> {
      const rd = validateRedirect(typeof ctx.query.rd === 'string' ? ctx.query.rd : undefined, deps.redirectPolicy);
      const who = asker(ctx);
      if (nothingToAsk(ctx, who, rd)) return;
      render(ctx, 200, (who as Extract<Asker, { user: User }>).user, rd);
    },

    async submit(ctx: Context): Promise<void> {
      const body = ctx.request.body;
      const rd = validateRedirect(formField(body, 'rd'), deps.redirectPolicy);
      const who = asker(ctx);
      if (nothingToAsk(ctx, who, rd)) {
        if (ctx.status === 302) ctx.status = 303;
        return;
      }
      const { user } = who as Extract<Asker, { user: User }>;
      const { clientIp } = ctx.state.facts;
      if (!deps.csrf.verify(ctx, formField(body, 'csrf'))) {
        metrics.signIn('second_factor', 'rejected');
        deps.logger.info({ event: 'two_factor.failure', user: user.username, client: clientIp, reason: 'csrf' }, 'second factor refused: missing or stale form token');
        return render(ctx, 403, user, rd, 'This form has expired. Please try again.');
      }
      const gate = await deps.throttle.take(clientIp, user.username);
      if (!gate.allowed) {
        metrics.throttleRefusal(refusalScope(gate));
        metrics.signIn('second_factor', 'throttled');
        deps.logger.info({ event: 'two_factor.throttled', user: user.username, client: clientIp, retryAfter: gate.retryAfterSec }, 'second factor refused: too many failed attempts');
        ctx.set('Retry-After', String(gate.retryAfterSec));
        return render(ctx, 429, user, rd, `Too many failed attempts. Try again in ${retryInWords(gate.retryAfterSec)}.`);
      }
      const answer = await deps.check.check(user, { code: formField(body, 'code'), recovery: formField(body, 'recovery') });
      if (!answer.ok) {
        metrics.signIn('second_factor', 'failure');
        deps.logger.info({ event: 'two_factor.failure', user: user.username, client: clientIp, reason: answer.reason, step: who.kind }, 'second factor refused');
        return render(ctx, 401, user, rd, GENERIC_FAILURE);
      }
      await deps.throttle.recordSuccess(clientIp, user.username);
      await complete(ctx, who as Extract<Asker, { kind: 'pending' | 'step-up' }>, answer.method);
      metrics.signIn('second_factor', 'success');
      deps.logger.info({ event: 'login.success', user: user.username, client: clientIp, factor: answer.method, step: who.kind }, who.kind === 'pending' ? 'signed in with a second factor' : 'confirmed a second factor');
      ctx.status = 303;
      ctx.redirect(rd ?? deps.urls.home);
    },
  };
}

export type TwoFactorHandlers = ReturnType<typeof createTwoFactorHandlers>;
