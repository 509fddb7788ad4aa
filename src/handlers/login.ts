import type { Context } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { verifyUserPassword } from '../auth/passwords.js';
import { noMetrics } from '../metrics/metrics.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import { currentIdentity } from '../auth/session-subject.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { readCredentials } from '../http/login-form.js';
import { loginPage, type LoginPageModel } from '../views/login-page.js';
import { createPasswordAccepted, type AcceptedDeps } from './login-accepted.js';
import { createAddressGate } from './login-address-gate.js';
import { createAdmission, type DeviceCookie } from './login-admission.js';
import { countThrottled, retryInWords } from './throttle-refusal.js';

export interface LoginDeps extends AcceptedDeps {
  readonly throttle: LoginThrottle;
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  /** Absolute URLs of our own pages. */
  readonly urls: { readonly login: string; readonly home: string };
  /** The single sign-on buttons, when providers are configured, so a failed attempt shows them again. */
  readonly sso?: (rd: string | undefined) => LoginPageModel['sso'];
  /** Trusted devices; absent when login.device_ttl is 0. */
  readonly devices?: DeviceCookie;
  /** "Sign in with a passkey" (handlers/passkey-login.ts): where its form gets its options and posts, when shown. */
  readonly passkey?: () => LoginPageModel['passkey'];
}

const GENERIC_FAILURE = 'Invalid username or password.';

const field = formField;

export function createLoginHandlers(deps: LoginDeps) {
  const admission = createAdmission(deps);
  const metrics = deps.metrics ?? noMetrics;
  const accepted = createPasswordAccepted(deps, admission);

  function render(ctx: Context, status: number, opts: { rd: string | undefined; username?: string; error?: string }): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = loginPage({
      destinationHost: opts.rd ? new URL(opts.rd).host : undefined,
      rd: opts.rd,
      csrf: deps.csrf.token(ctx, ctx.state.facts.https),
      username: opts.username ?? '',
      error: opts.error,
      showRememberMe: deps.rememberMe > 0,
      action: deps.urls.login,
      sso: deps.sso?.(opts.rd),
      passkey: deps.passkey?.(),
    });
  }

  function refuse(ctx: Context, gate: { retryAfterSec: number }, rd: string | undefined, username: string): void {
    ctx.set('Retry-After', String(gate.retryAfterSec));
    render(ctx, 429, { rd, username, error: `Too many failed sign-in attempts. Try again in ${retryInWords(gate.retryAfterSec)}.` });
  }

  return {
    /** The sign-in page with a message (the passkey sign-in's refusals show it too). */
    render,

    async show(ctx: Context): Promise<void> {
      const rd = validateRedirect(typeof ctx.query.rd === 'string' ? ctx.query.rd : undefined, deps.redirectPolicy);
      if (currentIdentity(ctx, deps)) {
        ctx.redirect(rd ?? deps.urls.home);
        return;
      }
      render(ctx, 200, { rd });
    },

    /** POST /login, before the body is read (login-address-gate.ts). */
    addressGate: createAddressGate(deps, admission),

    async submit(ctx: Context): Promise<void> {
      const body = ctx.request.body;
      const rd = validateRedirect(field(body, 'rd'), deps.redirectPolicy);
      const credentials = readCredentials(body, ctx.request.rawBody);
      // Echoed into the form and the log only when it could be a username at all.
      const shown = credentials.ok ? credentials.username : '';
      const { clientIp } = ctx.state.facts;

      if (!deps.csrf.verify(ctx, field(body, 'csrf'))) {
        deps.logger.info({ event: 'login.failure', user: shown, client: clientIp, reason: 'csrf' }, 'sign-in refused: missing or stale form token');
        metrics.signIn('password', 'rejected');
        return render(ctx, 403, { rd, username: shown, error: 'This sign-in form has expired. Please try again.' });
      }
      if (!credentials.ok) {
        if (credentials.problem === 'missing') {
          metrics.signIn('password', 'rejected');
          return render(ctx, 400, { rd, username: (field(body, 'username') ?? '').trim(), error: credentials.message });
        }
        // Not an attempt at any account, but a failure for the address all the same: no free probing with junk.
        const gate = await deps.throttle.takeAddress(clientIp);
        deps.logger.info({ event: 'login.failure', client: clientIp, reason: credentials.problem === 'malformed' ? 'malformed form' : 'too long' }, 'sign-in refused: unusable username or password');
        if (!gate.allowed) {
          countThrottled(metrics, 'password', gate);
          return refuse(ctx, gate, rd, '');
        }
        metrics.signIn('password', 'rejected');
        return render(ctx, 400, { rd, username: '', error: credentials.message });
      }
      const { username, password } = credentials;

      // Before any hashing: the attempt takes its point (from its device's limit, or the ordinary ones).
      const { gate, deviceId } = await admission.admit(ctx, clientIp, username);
      if (!gate.allowed) {
        deps.logger.info({ event: 'login.throttled', user: username, client: clientIp, retryAfter: gate.retryAfterSec }, 'sign-in refused: too many failed attempts');
        countThrottled(metrics, 'password', gate);
        return refuse(ctx, gate, rd, username);
      }

      const user = deps.users.find(username);
      let ok: boolean;
      try {
        ok = await verifyUserPassword(deps.hasher, user, password);
      } catch (err) {
        metrics.signIn('password', 'error'); // the hasher is saturated (503) or failed: no answer about the password
        throw err;
      }
      if (!ok || !user) {
        const reason = !user ? 'unknown user' : user.disabled ? 'disabled' : 'wrong password';
        deps.logger.info({ event: 'login.failure', user: username, client: clientIp, reason, ...(deviceId ? { device: true } : {}) }, 'sign-in failed');
        metrics.signIn('password', 'failure');
        return render(ctx, 401, { rd, username, error: GENERIC_FAILURE });
      }

      await accepted(ctx, user, password, { rd, remember: field(body, 'remember_me') !== undefined, clientIp, deviceId });
    },
  };
}
