/** What the passkey handlers (sign-in, second step, account page) share: a JSON reply, the refusal log line. */
import type { Context } from 'koa';
import type { Logger } from '../log/logger.js';

/** The options endpoints answer the page's script in JSON; the page headers (no-store, CSP) are already set. */
export function replyJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = body;
}

/**
 * One log line per refused passkey response, with its reason. A counter that went back after a
 * valid signature means a copy of the authenticator's key exists somewhere: a warning, not a typo.
 */
export function passkeyRefused(logger: Logger, fields: Record<string, unknown>, refusal: { reason: string; user?: string; detail?: Record<string, number> }): void {
  const line = { ...fields, reason: refusal.reason, ...(refusal.user ? { user: refusal.user } : {}), ...refusal.detail };
  if (refusal.reason === 'counter went back') logger.warn(line, 'passkey refused: its signature counter went back, so a copy of this authenticator may exist (cloned key?)');
  else logger.info(line, 'passkey refused');
}
