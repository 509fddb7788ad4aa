/**
 * "Sign in with a passkey" from the sign-in page, without a username or password:
 *
 *   POST /login/passkey/options   form token → JSON options; the challenge is kept in this browser's session
 *   POST /login/passkey           the credential (JSON in the `response` field) → signed in, 303 to `rd`
 *
 * A passkey whose authenticator verified its user (PIN, biometrics) is two factors at once (amr
 * `hwk`, `mfa`). Without user verification it is one (`hwk`): with `two_factor.required_for_enrolled`
 * (the user has a factor: this passkey) that is not enough to sign in, and the page says to sign in
 * with the password, where the passkey then serves as the second step; without it, a one-factor
 * session. Every refusal is logged with its reason and counts against the client address in the
 * sign-in throttle.
 */
import type { Context } from 'koa';
import type { LoginThrottle, ThrottleCheck } from '../auth/login-throttle.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import type { RequestLimit } from '../auth/request-limit.js';
import type { SubjectDeps } from '../auth/session-subject.js';
import { challengeFor, CEREMONY_TTL_MS } from '../factors/passkey-ceremony.js';
import { findCredential } from '../factors/passkey-directory.js';
import type { AuthenticationResult, Passkeys } from '../factors/passkeys.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { currentSession, setPasskeyCeremony, startSession, takePasskeyCeremony } from '../http/session-data.js';
import { sessionOrigin } from '../http/session-origin.js';
import type { Logger } from '../log/logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { holderFields } from '../oidc/pending.js';
import type { SingleUseGuard } from '../store/single-use-guard.js';
import { retryInWords } from './throttle-refusal.js';
import { passkeyRefused, replyJson } from './passkey-replies.js';

export interface PasskeyLoginDeps extends SubjectDeps {
  readonly passkeys: Passkeys;
  /** Claims each challenge once across replicas: two requests racing with one session cannot both use it. */
  readonly guard: SingleUseGuard;
  readonly throttle: LoginThrottle;
  /** Each options request keeps a challenge (and, for a visitor, an anonymous session) in the store: counted per address. */
  readonly startLimit: RequestLimit;
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  readonly logger: Logger;
  readonly urls: { readonly home: string };
  /** session.ttl: a passkey session lasts as long as a password one without "remember me". */
  readonly ttl: number;
  /** two_factor.required_for_enrolled: a passkey that did not verify its user cannot sign in alone. */
  readonly requireVerifiedUser: boolean;
  /** The sign-in page with a message (handlers/login.ts `render`). */
  readonly renderLogin: (ctx: Context, status: number, opts: { rd: string | undefined; error?: string }) => void;
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
}

const UNVERIFIED = 'This passkey did not ask for your PIN, fingerprint or face, so it cannot sign you in on its own. Sign in with your password; the passkey is then the second step.';
const GENERIC_FAILURE = 'That passkey could not sign you in. Try again, or sign in with your password.';

export function createPasskeyLoginHandlers(deps: PasskeyLoginDeps) {
  const metrics = deps.metrics ?? noMetrics;

  /** A refused address: a 429 with Retry-After, as JSON for the script or as the sign-in page. */
  function throttled(ctx: Context, gate: Extract<ThrottleCheck, { allowed: false }>, rd: string | undefined, asJson: boolean): void {
    metrics.throttleRefusal('ip');
    metrics.signIn('passkey', 'throttled');
    ctx.set('Retry-After', String(gate.retryAfterSec));
    const error = `Too many failed sign-in attempts. Try again in ${retryInWords(gate.retryAfterSec)}.`;
    if (asJson) replyJson(ctx, 429, { error });
    else deps.renderLogin(ctx, 429, { rd, error });
  }

  /** Logged with its reason, counted for the address; the page says only that it did not work. */
  async function refuse(ctx: Context, rd: string | undefined, refusal: Extract<AuthenticationResult, { ok: false }> | { reason: string; user?: string }): Promise<void> {
    const { clientIp } = ctx.state.facts;
    passkeyRefused(deps.logger, { event: 'login.failure', method: 'passkey', client: clientIp }, refusal);
    const gate = await deps.throttle.takeAddress(clientIp);
    if (!gate.allowed) return throttled(ctx, gate, rd, false);
    metrics.signIn('passkey', 'failure');
    deps.renderLogin(ctx, 401, { rd, error: GENERIC_FAILURE });
  }

  return {
    async options(ctx: Context): Promise<void> {
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return replyJson(ctx, 403, { error: 'This page has expired. Reload it and try again.' });
      const gate = await deps.throttle.addressRefusal(ctx.state.facts.clientIp);
      if (gate !== undefined && !gate.allowed) return throttled(ctx, gate, undefined, true);
      const started = await deps.startLimit.take(ctx.state.facts.clientIp);
      if (!started.allowed) {
        ctx.set('Retry-After', String(started.retryAfterSec));
        return replyJson(ctx, 429, { error: `Too many passkey sign-ins started from this address. Try again in ${retryInWords(started.retryAfterSec)}.` });
      }
      const options = await deps.passkeys.authenticationOptions();
      const now = deps.now();
      setPasskeyCeremony(ctx, { kind: 'sign-in', challenge: options.challenge, created: now }, holderFields(currentSession(ctx), now));
      replyJson(ctx, 200, { options });
    },

    async submit(ctx: Context): Promise<void> {
      const rd = validateRedirect(formField(ctx.request.body, 'rd'), deps.redirectPolicy);
      const { clientIp } = ctx.state.facts;
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) {
        deps.logger.info({ event: 'login.failure', method: 'passkey', client: clientIp, reason: 'csrf' }, 'sign-in refused: missing or stale form token');
        metrics.signIn('passkey', 'rejected');
        return deps.renderLogin(ctx, 403, { rd, error: 'This sign-in form has expired. Please try again.' });
      }
      const gate = await deps.throttle.addressRefusal(clientIp);
      if (gate !== undefined && !gate.allowed) return throttled(ctx, gate, rd, false);

      const now = deps.now();
      const ceremony = challengeFor(takePasskeyCeremony(ctx), 'sign-in', undefined, now);
      if (!ceremony.ok) return refuse(ctx, rd, ceremony);
      if (!(await deps.guard.claim(`passkey:${ceremony.challenge}`, CEREMONY_TTL_MS))) return refuse(ctx, rd, { reason: 'challenge already used' });
      const result = await deps.passkeys.verifyAuthentication({ response: formField(ctx.request.body, 'response'), challenge: ceremony.challenge, find: (id) => findCredential(deps.users, id) });
      if (!result.ok) return refuse(ctx, rd, result);

      const { user, passkey, userVerified } = result;
      if (!userVerified && deps.requireVerifiedUser) {
        // The right key, so not a failure for the throttle: this passkey is a second step, not a sign-in of its own.
        deps.logger.info({ event: 'login.failure', method: 'passkey', client: clientIp, user: user.username, reason: 'user not verified' }, 'passkey without user verification: the password comes first');
        metrics.signIn('passkey', 'rejected');
        return deps.renderLogin(ctx, 401, { rd, error: UNVERIFIED });
      }
      const amr = userVerified ? ['hwk', 'mfa'] : ['hwk'];
      await startSession(ctx, { user: user.username, via: 'local', created: now, expires: now + deps.ttl, seen: now, pwv: deps.rules.passwordFingerprint(user), amr, ...sessionOrigin(ctx) }, 'session', now);
      metrics.signIn('passkey', 'success');
      deps.logger.info({ event: 'login.success', method: 'passkey', user: user.username, client: clientIp, passkey: passkey.name, amr }, 'signed in with a passkey');
      ctx.status = 303;
      ctx.redirect(rd ?? deps.urls.home);
    },
  };
}
