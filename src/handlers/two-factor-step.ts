/**
 * The second step as every way of answering it sees it: the code form (two-factor.ts), a passkey
 * (passkey-second-step.ts) and the sign-in that leads to it (login.ts).
 *
 * - Who is asking comes from the session only: a pending sign-in (an anonymous holder carrying
 *   `mfa_pending`, see factors/second-step.ts), or a signed-in local user.
 * - When there is no factor to ask (nobody, already done, a provider's session, no factor yet), the
 *   answer is a redirect or a page that says what to do, never the form.
 * - A right answer starts the session afresh (a new id) with the methods it now has (`amr`).
 * What an answer is, how it is checked and throttled, is each way's own.
 */
import type { Context } from 'koa';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import { hasSecondFactor } from '../factors/factors.js';
import { parsePendingSecondStep, secondStepHolder, SECOND_STEP_KEY, type PendingSecondStep } from '../factors/second-step.js';
import { withMethod } from '../factors/session-methods.js';
import type { Csrf } from '../http/csrf.js';
import { currentSession, restartSession, sessionField, startSession } from '../http/session-data.js';
import { sessionOrigin } from '../http/session-origin.js';
import type { SessionData } from '../store/session-store.js';
import { messagePage } from '../views/message-page.js';
import { twoFactorPage, type TwoFactorPageModel } from '../views/two-factor-page.js';

export interface SecondStepDeps extends SubjectDeps {
  readonly csrf: Csrf;
  readonly urls: { readonly login: string; readonly home: string; readonly secondFactor: string; readonly enrolTotp: string };
  readonly ttl: number;
  readonly rememberMe: number;
  /** two_factor.required_for_enrolled */
  readonly requiredForEnrolled: boolean;
  /** two_factor.enrol_on_sign_in */
  readonly enrolOnSignIn: boolean;
  /** PASSKEYS SEAM: more ways to confirm, shown on the page (see TwoFactorPageModel.alternatives). */
  readonly alternatives?: (ctx: Context, user: User, rd: string | undefined) => TwoFactorPageModel['alternatives'];
}

/** Who this request is, as far as the second step is concerned. */
export type Asker =
  | { readonly kind: 'pending'; readonly user: User; readonly pending: PendingSecondStep }
  | { readonly kind: 'step-up'; readonly user: User; readonly session: SessionData }
  | { readonly kind: 'done' }
  /** Signed in, but not as a local user (a provider's session): no local factor to ask for. */
  | { readonly kind: 'foreign' }
  | { readonly kind: 'nobody' };

const withRd = (url: string, rd: string | undefined): string => (rd ? `${url}?rd=${encodeURIComponent(rd)}` : url);

export function createSecondStep(deps: SecondStepDeps) {
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
    if (who.kind === 'pending') {
      const remember = who.pending.rem && deps.rememberMe > 0;
      const lifetime = remember ? deps.rememberMe : deps.ttl;
      const data: SessionData = { user: who.user.username, via: 'local', created: now, expires: now + lifetime, seen: now, pwv: who.pending.pwv, amr: ['pwd', method], ...sessionOrigin(ctx) };
      await startSession(ctx, data, remember ? deps.rememberMe : 'session', now);
      return;
    }
    const { session } = who;
    // The same session, stepped up: its lifetime unchanged, under a fresh id.
    await restartSession(ctx, { seen: now, amr: withMethod(session.amr ?? (session.via === 'local' ? ['pwd'] : []), method) }, now);
  }

  return {
    /**
     * PASSKEYS SEAM: "Use a passkey" (handlers/passkey-second-step.ts) is another way to answer the
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
      const now = deps.now();
      const pending: PendingSecondStep = { user: user.username, pwv: deps.rules.passwordFingerprint(user), rem: remember, created: now };
      await startSession(ctx, secondStepHolder(pending), 'session', now);
    },
  };
}

export type SecondStep = ReturnType<typeof createSecondStep>;
