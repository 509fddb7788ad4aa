/**
 * A sign-in throttle refusal as the person reads it and as the metrics count it: the same words and
 * the same counting for every form that takes a point (the password form, the second step, passkeys,
 * the account pages).
 */
import type { ThrottleCheck } from '../auth/login-throttle.js';
import type { Metrics } from '../metrics/metrics.js';
import { THROTTLE_SCOPES, type SignInMethod, type ThrottleRefusalScope } from '../metrics/labels.js';

/** "in 3 minutes", "in 40 seconds": when to try again, in the user's terms. */
export function retryInWords(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

/** The scope a throttle refusal is counted under: the window that refused it, or the address when unknown. */
export function refusalScope(gate: ThrottleCheck): ThrottleRefusalScope {
  return !gate.allowed && (THROTTLE_SCOPES as readonly string[]).includes(gate.scope ?? '') ? (gate.scope as ThrottleRefusalScope) : 'ip';
}

/** A throttled attempt, counted: as a refusal under refusalScope(gate), and as a `throttled` sign-in of `method`. */
export function countThrottled(metrics: Pick<Metrics, 'signIn' | 'throttleRefusal'>, method: SignInMethod, gate: ThrottleCheck): void {
  metrics.throttleRefusal(refusalScope(gate));
  metrics.signIn(method, 'throttled');
}
