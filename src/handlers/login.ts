import type { Context } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { verifyUserPassword, type PasswordHasher } from '../auth/passwords.js';
import type { Rehasher } from '../auth/rehash.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import { startSession } from '../http/session-data.js';
import { sessionOrigin } from '../http/session-origin.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { readCredentials } from '../http/login-form.js';
import type { Logger } from '../log/logger.js';
import type { SessionData } from '../store/session-store.js';
import { loginPage, type LoginPageModel } from '../views/login-page.js';
import { createAddressGate } from './login-address-gate.js';
import { createAdmission, type DeviceCookie } from './login-admission.js';
import { countThrottled, retryInWords } from './throttle-refusal.js';

export interface LoginDeps extends SubjectDeps {
  readonly hasher: PasswordHasher;
  readonly throttle: LoginThrottle;
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  readonly logger: Logger;
  /** Absolute URLs of our own pages. */
  readonly urls: { readonly login: string; readonly home: string };
  readonly ttl: number;
  /** 0 hides the "remember me" checkbox. */
  readonly rememberMe: number;
  /** The single sign-on buttons, when providers are configured, so a failed attempt shows them again. */
  readonly sso?: (rd: string | undefined) => LoginPageModel['sso'];
  /** Trusted devices; absent when login.device_ttl is 0. */
  readonly devices?: DeviceCookie;
  /** Rewrites a hash that is not argon2id at the configured parameters after a successful sign-in. */
  readonly rehasher?: Rehasher;
  /** Sign-ins and throttle refusals are counted here (metrics.port); nothing when not given. */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
  /** "Sign in with a passkey" (handlers/passkey-login.ts): where its form gets its options and posts, when shown. */
  readonly passkey?: () => LoginPageModel['passkey'];
  /** The second step (handlers/two-factor-step.ts): after a right password, a user with a factor is sent to `url` instead of signed in. */
  readonly secondStep?: {
    readonly url: string;
    needed(user: User): boolean;
    begin(ctx: Context, user: User, remember: boolean): Promise<void>;
  };
}

const GENERIC_FAILURE = 'Invalid username or password.';

const field = formField;

export function createLoginHandlers(deps: LoginDeps) {
  const admission = createAdmission(deps);
  const metrics = deps.metrics ?? noMetrics;

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

  async function signIn(ctx: Context, user: User, rememberMe: boolean): Promise<void> {
    const now = deps.now();
    const lifetime = rememberMe && deps.rememberMe > 0 ? deps.rememberMe : deps.ttl;
    const data: SessionData = { user: user.username, via: 'local', created: now, expires: now + lifetime, seen: now, pwv: deps.rules.passwordFingerprint(user), amr: ['pwd'], ...sessionOrigin(ctx) };
    await startSession(ctx, data, rememberMe && deps.rememberMe > 0 ? deps.rememberMe : 'session');
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

      await admission.succeeded(ctx, clientIp, user, deviceId);
      // Not awaited: the sign-in never waits for, or fails with, the users-file rewrite (it logs its own outcome).
      if (deps.rehasher && deps.hasher.needsRehash(user.password)) void deps.rehasher.rehash(user.username, password, user.password);
      // Not signed in yet: the session only holds the pending step, and verify still answers as for anyone.
      if (deps.secondStep?.needed(user)) {
        await deps.secondStep.begin(ctx, user, field(body, 'remember_me') !== undefined);
        deps.logger.info({ event: 'login.second_step', user: user.username, client: clientIp, ...(deviceId ? { device: true } : {}) }, 'password accepted; asking for the second factor');
        ctx.status = 303;
        ctx.redirect(rd ? `${deps.secondStep.url}?rd=${encodeURIComponent(rd)}` : deps.secondStep.url);
        return;
      }
      await signIn(ctx, user, field(body, 'remember_me') !== undefined);
      metrics.signIn('password', 'success');
      deps.logger.info({ event: 'login.success', user: user.username, client: clientIp, ...(deviceId ? { device: true } : {}) }, 'signed in');
      ctx.status = 303;
      ctx.redirect(rd ?? deps.urls.home);
    },
  };
}
