/**
 * "Use a passkey" on `/login/2fa`: the second step after the password, and the step-up a
 * `two_factor` rule asks of a one-factor session. Another way to answer the page handlers/two-factor.ts
 * serves, through the second step it shares (two-factor-step.ts: who is asking, the page, completing the step):
 *
 *   POST /login/2fa/passkey/options   form token → JSON options naming this user's passkeys; challenge kept in the session
 *   POST /login/2fa/passkey           the credential → the step done (amr gains `hwk`), 303 to `rd`
 *
 * As for a code: every attempt takes a point from the sign-in throttle (address and username)
 * before anything is checked, and every refusal is logged with its reason.
 */
import type { Context } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import type { User } from '../auth/user.js';
import { challengeFor, CEREMONY_TTL_MS } from '../factors/passkey-ceremony.js';
import { passkeysOf } from '../factors/passkey-directory.js';
import type { Passkeys } from '../factors/passkeys.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { setPasskeyCeremony, takePasskeyCeremony } from '../http/session-data.js';
import type { Logger } from '../log/logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import type { SingleUseGuard } from '../store/single-use-guard.js';
import { html, type SafeHtml } from '../views/html.js';
import { passkeyForm } from '../views/passkey-form.js';
import { countThrottled, retryInWords } from './throttle-refusal.js';
import { passkeyRefused, replyJson } from './passkey-replies.js';
import type { Asker, SecondStep } from './two-factor-step.js';

export interface PasskeySecondStepDeps {
  readonly passkeys: Passkeys;
  readonly guard: SingleUseGuard;
  readonly throttle: LoginThrottle;
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  readonly logger: Logger;
  readonly now: () => number;
  readonly urls: { readonly home: string; readonly options: string; readonly action: string };
  /** The second step (handlers/two-factor-step.ts, built with two-factor.ts), asked when needed (it is built after this). */
  readonly step: () => SecondStep;
  /** Counted as `second_factor` sign-ins, as a code is (metrics.port). */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
}

type Answering = Extract<Asker, { kind: 'pending' | 'step-up' }>;

/**
 * Whether a passkey can answer for `who`: the user has one, and it would add a factor (a session
 * opened with a passkey alone, `hwk`, gains nothing from the same kind again).
 */
function canAnswer(who: Asker): who is Answering {
  if (who.kind !== 'pending' && who.kind !== 'step-up') return false;
  if (who.kind === 'step-up' && (who.session.amr ?? []).includes('hwk')) return false;
  return passkeysOf(who.user).length > 0;
}

export function createPasskeySecondStepHandlers(deps: PasskeySecondStepDeps) {
  const metrics = deps.metrics ?? noMetrics;
  return {
    /** The page's "Use a passkey" (TwoFactorPageModel.alternatives), when the user has a passkey. */
    button(ctx: Context, user: User, rd: string | undefined): SafeHtml[] {
      const who = deps.step().asker(ctx);
      if (!canAnswer(who) || who.user !== user) return [];
      const csrf = deps.csrf.token(ctx, ctx.state.facts.https);
      return [
        html`${passkeyForm({ mode: 'get', optionsUrl: deps.urls.options, action: deps.urls.action, csrf, hidden: { rd }, button: 'Use a passkey' })}<p data-passkey-fallback>Using a passkey needs a browser with JavaScript that supports passkeys.</p>
`,
      ];
    },

    async options(ctx: Context): Promise<void> {
      const who = deps.step().asker(ctx);
      if (!canAnswer(who)) return replyJson(ctx, 401, { error: 'There is nothing to confirm here. Sign in again.' });
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return replyJson(ctx, 403, { error: 'This page has expired. Reload it and try again.' });
      const options = await deps.passkeys.authenticationOptions(passkeysOf(who.user));
      setPasskeyCeremony(ctx, { kind: 'second-step', challenge: options.challenge, user: who.user.username, created: deps.now() });
      replyJson(ctx, 200, { options });
    },

    async submit(ctx: Context): Promise<void> {
      const step = deps.step();
      const body = ctx.request.body;
      const rd = validateRedirect(formField(body, 'rd'), deps.redirectPolicy);
      const who = step.asker(ctx);
      if (step.nothingToAsk(ctx, who, rd)) {
        if (ctx.status === 302) ctx.status = 303;
        return;
      }
      const { user } = who as Answering;
      const { clientIp } = ctx.state.facts;
      const log = { event: 'two_factor.failure', method: 'passkey', user: user.username, client: clientIp, step: who.kind };
      if (!deps.csrf.verify(ctx, formField(body, 'csrf'))) {
        metrics.signIn('second_factor', 'rejected');
        deps.logger.info({ ...log, reason: 'csrf' }, 'second factor refused: missing or stale form token');
        return step.render(ctx, 403, user, rd, 'This form has expired. Please try again.');
      }
      const gate = await deps.throttle.take(clientIp, user.username);
      if (!gate.allowed) {
        countThrottled(metrics, 'second_factor', gate);
        ctx.set('Retry-After', String(gate.retryAfterSec));
        return step.render(ctx, 429, user, rd, `Too many failed attempts. Try again in ${retryInWords(gate.retryAfterSec)}.`);
      }
      const ceremony = challengeFor(takePasskeyCeremony(ctx), 'second-step', user.username, deps.now());
      const claimed = ceremony.ok && (await deps.guard.claim(`passkey:${ceremony.challenge}`, CEREMONY_TTL_MS));
      const result = !ceremony.ok
        ? ceremony
        : !claimed
          ? { ok: false as const, reason: 'challenge already used' }
          : await deps.passkeys.verifyAuthentication({
              response: formField(body, 'response'),
              challenge: ceremony.challenge,
              // Only this user's passkeys answer for this user.
              find: (id) => {
                const passkey = canAnswer(who) ? passkeysOf(user).find((p) => p.id === id) : undefined;
                return passkey && { user, passkey };
              },
            });
      if (!result.ok) {
        metrics.signIn('second_factor', 'failure');
        passkeyRefused(deps.logger, log, result);
        return step.render(ctx, 401, user, rd, 'That passkey could not confirm it is you. Try again, or use another factor.');
      }
      await deps.throttle.recordSuccess(clientIp, user.username);
      await step.complete(ctx, who as Answering, 'hwk');
      metrics.signIn('second_factor', 'success');
      deps.logger.info({ event: 'login.success', user: user.username, client: clientIp, factor: 'hwk', passkey: result.passkey.name, step: who.kind }, who.kind === 'pending' ? 'signed in with a passkey as second factor' : 'confirmed a second factor with a passkey');
      ctx.status = 303;
      ctx.redirect(rd ?? deps.urls.home);
    },
  };
}
