/**
 * `/login/2fa`: the second step of a password sign-in, and the step-up a `two_factor` access rule
 * asks of a session signed in with one factor. One page, one form: a code from the authenticator
 * app, or a recovery code.
 *
 * - Who is asking, the page, and the session after a right answer are the second step's
 *   (two-factor-step.ts), shared with the passkey's way of answering.
 * - Every attempt takes a point from the sign-in throttle before anything is checked; a wrong,
 *   reused, expired or malformed code gets one generic failure.
 */
import type { Context } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import type { User } from '../auth/user.js';
import type { FactorCheck } from '../factors/factor-check.js';
import { formField } from '../http/form-field.js';
import type { Logger } from '../log/logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { countThrottled, retryInWords } from './throttle-refusal.js';
import { type Asker, createSecondStep, type SecondStepDeps } from './two-factor-step.js';

export interface TwoFactorDeps extends SecondStepDeps {
  readonly throttle: LoginThrottle;
  readonly check: FactorCheck;
  readonly redirectPolicy: RedirectPolicy;
  readonly logger: Logger;
  /** Second steps and their throttle refusals are counted here (metrics.port); nothing when not given. */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
}

const GENERIC_FAILURE = 'That code is not valid. Check the time on your phone, wait for the next code, and try again.';

/** The second step (two-factor-step.ts) with the code form's show and submit. */
export function createTwoFactorHandlers(deps: TwoFactorDeps) {
  const metrics = deps.metrics ?? noMetrics;
  const step = createSecondStep(deps);
  const { asker, render, nothingToAsk, complete } = step;
  return {
    ...step,

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
        countThrottled(metrics, 'second_factor', gate);
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
