/**
 * The second factor's part of the HTTP surface, built from the app's deps in one place (app.ts
 * calls this): the TOTP checker, the factor check, `/login/2fa` and the `/account/2fa/...` pages.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { RedirectPolicy } from '../auth/redirect.js';
import type { SubjectDeps } from '../auth/session-subject.js';
import { when } from '../account/overview.js';
import type { Config } from '../config/types.js';
import { createFactorCheck } from '../factors/factor-check.js';
import type { SecretBox } from '../factors/secret-box.js';
import { createTotp } from '../factors/totp.js';
import type { Csrf } from '../http/csrf.js';
import type { Logger } from '../log/logger.js';
import type { SingleUseGuard } from '../store/single-use-guard.js';
import { createFactorChange } from './factor-change.js';
import { createTotpPages } from './two-factor-enrol.js';
import { createRecoveryPages } from './two-factor-recovery.js';
import { createTwoFactorHandlers, type TwoFactorDeps } from './two-factor.js';

export interface SecondFactorDeps extends SubjectDeps {
  readonly config: Config;
  readonly csrf: Csrf;
  readonly throttle: LoginThrottle;
  readonly hasher: PasswordHasher;
  readonly logger: Logger;
  readonly redirectPolicy: RedirectPolicy;
  readonly box: SecretBox;
  readonly guard: SingleUseGuard;
  readonly publicUrl: string;
  readonly alternatives?: TwoFactorDeps['alternatives'];
  readonly metrics?: TwoFactorDeps['metrics'];
}

export function createSecondFactors(deps: SecondFactorDeps) {
  const { config, publicUrl } = deps;
  const urls = {
    login: `${publicUrl}/login`,
    home: `${publicUrl}/`,
    secondFactor: `${publicUrl}/login/2fa`,
    account: `${publicUrl}/account`,
    enrolTotp: `${publicUrl}/account/2fa/totp`,
    removeTotp: `${publicUrl}/account/2fa/totp/remove`,
    recovery: `${publicUrl}/account/2fa/recovery`,
  };
  const totp = createTotp({ guard: deps.guard, now: deps.now, issuer: config.two_factor.issuer });
  const check = createFactorCheck({ box: deps.box, totp, usersFile: config.users.file, logger: deps.logger, now: deps.now });
  const step = createTwoFactorHandlers({
    ...deps,
    check,
    urls,
    ttl: config.session.ttl,
    rememberMe: config.session.remember_me,
    requiredForEnrolled: config.two_factor.required_for_enrolled,
    enrolOnSignIn: config.two_factor.enrol_on_sign_in,
  });
  const change = createFactorChange({ ...deps, check, usersFile: config.users.file, urls });
  const totpPages = createTotpPages({ ...deps, totp, change, urls });
  const recoveryPages = createRecoveryPages({ ...deps, change, urls });

  return {
    urls,
    /** The `/login/2fa` handlers, for another way to answer it (the passkeys' second step). */
    step,
    /** The rules of every factor change (who may; the password or a code again; saving), for the passkeys page. */
    change,
    /** The account page's "Second factors" list for `username` (handlers/account.ts secondFactors). */
    accountLinks(username: string): ReadonlyArray<{ readonly name: string; readonly href: string }> {
      const factors = deps.users.find(username)?.factors;
      const recovery = factors?.recovery;
      return [
        factors?.totp
          ? { name: `Authenticator app, added ${new Date(factors.totp.created).toISOString().slice(0, 10)}: replace or remove`, href: urls.enrolTotp }
          : { name: 'Add an authenticator app', href: urls.enrolTotp },
        ...(recovery
          ? [{ name: `Recovery codes: ${recovery.codes.length} unused${recovery.used.length > 0 ? `, last used ${when(recovery.used.at(-1)!.at)}` : ''}`, href: urls.recovery }]
          : []),
      ];
    },
    /** For handlers/login.ts: the second step after a right password. */
    secondStep: { url: urls.secondFactor, needed: step.needed, begin: step.begin },
    /** Adds the routes, with the app's page middlewares (security headers, form parser, session). */
    routes(router: Router, mw: { readonly page: Middleware; readonly form: Middleware; readonly session: Middleware }): void {
      const { page, form, session } = mw;
      router.get('/login/2fa', page, session, step.show);
      router.post('/login/2fa', page, form, session, step.submit);
      router.get('/account/2fa/totp', page, session, totpPages.showTotp);
      router.post('/account/2fa/totp', page, form, session, totpPages.enableTotp);
      router.post('/account/2fa/totp/remove', page, form, session, totpPages.removeTotp);
      router.get('/account/2fa/recovery', page, session, recoveryPages.showRecovery);
      router.post('/account/2fa/recovery', page, form, session, recoveryPages.regenerateRecovery);
    },
  };
}
