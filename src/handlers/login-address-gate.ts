/**
 * POST /login, before the body, the session or the form token is read: an address the throttle
 * already knows to be refused gets its 429 at once, so a flood from one address costs next to nothing.
 * The page has no form (its token would cost more than the rest), only the way back to one.
 */
import type { Context, Next } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { Logger } from '../log/logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { messagePage } from '../views/message-page.js';
import type { createAdmission } from './login-admission.js';
import { countThrottled, retryInWords } from './throttle-refusal.js';

export interface AddressGateDeps {
  readonly throttle: LoginThrottle;
  readonly logger: Logger;
  readonly urls: { readonly login: string };
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
}

type Admission = Pick<ReturnType<typeof createAdmission>, 'mayBeTrusted' | 'countUnreadable'>;

export function createAddressGate(deps: AddressGateDeps, admission: Admission): (ctx: Context, next: Next) => Promise<void> {
  const metrics = deps.metrics ?? noMetrics;
  return async function addressGate(ctx: Context, next: Next): Promise<void> {
    const { clientIp } = ctx.state.facts;
    // A browser with a device cookie may be trusted, which the address limit does not judge: submit decides.
    const gate = admission.mayBeTrusted(ctx) ? undefined : await deps.throttle.addressRefusal(clientIp);
    if (gate === undefined || gate.allowed) return admission.countUnreadable(ctx, next);
    countThrottled(metrics, 'password', gate);
    deps.logger.info({ event: 'login.throttled', client: clientIp, retryAfter: gate.retryAfterSec, scope: 'ip' }, 'sign-in refused: too many failed attempts from this address');
    ctx.status = 429;
    ctx.set('Retry-After', String(gate.retryAfterSec));
    ctx.type = 'html';
    ctx.body = messagePage('Too many attempts', `Too many failed sign-in attempts. Try again in ${retryInWords(gate.retryAfterSec)}.`, { href: deps.urls.login, text: 'Back to sign-in' });
  };
}
