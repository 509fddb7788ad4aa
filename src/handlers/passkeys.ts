/**
 * Passkeys' part of the app, built in one place from what app.ts already has: the ceremonies
 * (factors/passkeys.ts), "Sign in with a passkey" (passkey-login.ts), the account page's passkeys
 * (passkey-account.ts), and whether the sign-in page offers the button.
 */
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { RedirectPolicy } from '../auth/redirect.js';
import type { RequestLimit } from '../auth/request-limit.js';
import type { SubjectDeps } from '../auth/session-subject.js';
import type { Config } from '../config/types.js';
import { passkeysOf } from '../factors/passkey-directory.js';
import { createPasskeys } from '../factors/passkeys.js';
import type { Csrf } from '../http/csrf.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PasskeyCounterStore } from '../store/passkey-counter-store.js';
import type { SingleUseGuard } from '../store/single-use-guard.js';
import type { LoginPageModel } from '../views/login-page.js';
import { createPasskeyAccountHandlers, type PasskeyAccountDeps } from './passkey-account.js';
import { createPasskeyLoginHandlers } from './passkey-login.js';
import { createPasskeySecondStepHandlers } from './passkey-second-step.js';
import { passkeyScript } from './static-script.js';
import type { SecondStep } from './two-factor-step.js';

export interface PasskeyWiring extends SubjectDeps {
  readonly config: Config;
  readonly secret: string;
  readonly logger: Logger;
  readonly hasher: PasswordHasher;
  readonly throttle: LoginThrottle;
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  readonly counters: PasskeyCounterStore;
  readonly guard: SingleUseGuard;
  /** login.passkey_rate_limit: passwordless sign-ins started per address. */
  readonly startLimit: RequestLimit;
  readonly metrics: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
  readonly urls: { readonly login: string; readonly home: string };
  /** The sign-in page with a message (handlers/login.ts `render`), asked when needed: the login handlers are built after the button. */
  readonly renderLogin: (ctx: Context, status: number, opts: { rd: string | undefined; error?: string }) => void;
  /** `/login/2fa`'s second step (handlers/two-factor-step.ts), asked when needed: it is built after the passkey button it shows. */
  readonly secondStep: () => SecondStep;
  /** The rules of a factor change (handlers/two-factor-enrol.ts), asked when needed, as secondStep. */
  readonly change: PasskeyAccountDeps['change'];
}

export function createPasskeyHandlers(w: PasskeyWiring) {
  const publicUrl = w.config.server.public_url;
  const passkeys = createPasskeys({ rpId: w.config.session.domain, origin: new URL(publicUrl).origin, secret: w.secret, counters: w.counters, now: w.now });
  const signInForm = { optionsUrl: `${publicUrl}/login/passkey/options`, action: `${publicUrl}/login/passkey` };
  const login = createPasskeyLoginHandlers({ ...w, passkeys, ttl: w.config.session.ttl, requireVerifiedUser: w.config.two_factor.required_for_enrolled });
  const secondStep = createPasskeySecondStepHandlers({
    ...w,
    passkeys,
    step: w.secondStep,
    urls: { home: w.urls.home, options: `${publicUrl}/login/2fa/passkey/options`, action: `${publicUrl}/login/2fa/passkey` },
  });
  const account = createPasskeyAccountHandlers({
    ...w,
    passkeys,
    step: w.secondStep,
    urls: {
      login: w.urls.login,
      account: `${publicUrl}/account`,
      page: `${publicUrl}/account/2fa/passkeys`,
      options: `${publicUrl}/account/2fa/passkeys/options`,
      remove: `${publicUrl}/account/2fa/passkeys/remove`,
      recovery: `${publicUrl}/account/2fa/recovery`,
    },
  });
  return {
    /** The sign-in page's "Sign in with a passkey", offered once someone has a passkey: until then it could only fail. */
    signInButton: (): LoginPageModel['passkey'] => (w.users.all().some((u) => passkeysOf(u).length > 0) ? signInForm : undefined),
    /** The account page's "Second factors" entry for `username`: how many passkeys, and the page to manage them. */
    accountLink(username: string): { readonly name: string; readonly href: string } {
      const user = w.users.find(username);
      const count = user ? passkeysOf(user).length : 0;
      return { name: count === 0 ? 'Add a passkey' : `Passkeys: ${count}`, href: `${publicUrl}/account/2fa/passkeys` };
    },
    /** `/login/2fa`'s "Use a passkey" (TwoFactorPageModel.alternatives). */
    secondStepButton: secondStep.button,
    /** Adds the routes, with the app's page middlewares (security headers, form parser, session). */
    routes(router: Router, mw: { readonly page: Middleware; readonly form: Middleware; readonly session: Middleware }): void {
      const { page, form, session } = mw;
      router.post('/login/passkey/options', page, form, session, login.options);
      router.post('/login/passkey', page, form, session, login.submit);
      router.post('/login/2fa/passkey/options', page, form, session, secondStep.options);
      router.post('/login/2fa/passkey', page, form, session, secondStep.submit);
      router.get('/account/2fa/passkeys', page, session, account.show);
      router.post('/account/2fa/passkeys/options', page, form, session, account.options);
      router.post('/account/2fa/passkeys', page, form, session, account.add);
      router.post('/account/2fa/passkeys/remove', page, form, session, account.remove);
      // No session, no page headers: a static file.
      router.get('/static/passkey.js', passkeyScript);
    },
  };
}
