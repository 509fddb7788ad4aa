/**
 * Passkeys' part of the app, built in one place from what app.ts already has: the ceremonies
 * (factors/passkeys.ts), "Sign in with a passkey" (passkey-login.ts), the account page's passkeys
 * (passkey-account.ts), and whether the sign-in page offers the button.
 */
import type { Context } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { RedirectPolicy } from '../auth/redirect.js';
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
import { createPasskeyAccountHandlers } from './passkey-account.js';
import { createPasskeyLoginHandlers } from './passkey-login.js';

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
  readonly metrics: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
  readonly urls: { readonly login: string; readonly home: string };
  /** The sign-in page with a message (handlers/login.ts `render`), asked when needed: the login handlers are built after the button. */
  readonly renderLogin: (ctx: Context, status: number, opts: { rd: string | undefined; error?: string }) => void;
}

export function createPasskeyHandlers(w: PasskeyWiring) {
  const publicUrl = w.config.server.public_url;
  const passkeys = createPasskeys({ rpId: w.config.session.domain, origin: new URL(publicUrl).origin, secret: w.secret, counters: w.counters, now: w.now });
  const signInForm = { optionsUrl: `${publicUrl}/login/passkey/options`, action: `${publicUrl}/login/passkey` };
  return {
    /** The sign-in page's "Sign in with a passkey", offered once someone has a passkey: until then it could only fail. */
    signInButton: (): LoginPageModel['passkey'] => (w.users.all().some((u) => passkeysOf(u).length > 0) ? signInForm : undefined),
    login: createPasskeyLoginHandlers({ ...w, passkeys, ttl: w.config.session.ttl, requireVerifiedUser: w.config.two_factor.required_for_enrolled }),
    account: createPasskeyAccountHandlers({
      ...w,
      passkeys,
      usersFile: w.config.users.file,
      urls: {
        login: w.urls.login,
        account: `${publicUrl}/account`,
        page: `${publicUrl}/account/2fa/passkeys`,
        options: `${publicUrl}/account/2fa/passkeys/options`,
        remove: `${publicUrl}/account/2fa/passkeys/remove`,
      },
    }),
  };
}
