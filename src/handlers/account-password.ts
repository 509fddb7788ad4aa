import type { Context } from 'koa';
import { readPasswordForm } from '../account/password-form.js';
import { changePassword, PasswordChangedMeanwhileError } from '../auth/password-change.js';
import { restartSession } from '../http/session-data.js';
import type { AccountDeps, AccountPage, AccountVisitor } from './account.js';
import { retryInWords } from './throttle-refusal.js';

/**
 * POST /account/password: the current password, then the new one twice. The current password is
 * an attempt at the account as a sign-in is: it takes its point from the sign-in throttle (user,
 * address, both) before it is hashed, and a wrong one keeps it. On success the users file gets the
 * new hash, every other session and device trust of the user ends, and this session goes on under
 * a fresh id with the new password's fingerprint.
 */
export function createPasswordChange(deps: AccountDeps, page: AccountPage) {
  const error = (ctx: Context, who: AccountVisitor, status: number, text: string) => page.render(ctx, who, status, { flash: { kind: 'error', text } });

  return page.form(async (ctx, who, body) => {
    const user = who.user;
    if (!user) return error(ctx, who, 400, 'You signed in through single sign-on: there is no password to change here.');
    const form = readPasswordForm(body, ctx.request.rawBody, deps.minPasswordLength);
    if (!form.ok) return error(ctx, who, 400, `${form.message} Nothing was changed.`);

    const { clientIp } = ctx.state.facts;
    const log = { user: user.username, client: clientIp };
    const gate = await deps.throttle.take(clientIp, user.username);
    if (!gate.allowed) {
      deps.logger.info({ event: 'account.password.throttled', ...log, retryAfter: gate.retryAfterSec }, 'password change refused: too many failed attempts');
      ctx.set('Retry-After', String(gate.retryAfterSec));
      return error(ctx, who, 429, `Too many wrong passwords. Try again in ${retryInWords(gate.retryAfterSec)}.`);
    }
    if (!(await deps.hasher.verify(user.password, form.current))) {
      deps.logger.info({ event: 'account.password.failure', ...log, reason: 'wrong password' }, 'password change refused: wrong current password');
      return error(ctx, who, 400, 'Your current password was not accepted. Nothing was changed.');
    }
    await deps.throttle.recordSuccess(clientIp, user.username);

    let write;
    try {
      write = await page.writing(ctx, who, { event: 'account.password.read_only', what: 'your new password', command: () => `postern user passwd ${user.username}` }, () =>
        changePassword(
          { usersFile: deps.usersFile, hasher: deps.hasher, passwordFingerprint: deps.rules.passwordFingerprint, sessions: deps.store, ...(deps.devices ? { devices: deps.devices } : {}) },
          { username: user.username, password: form.password, checkedHash: user.password, keepSession: who.sessionId },
        ),
      );
    } catch (err) {
      if (err instanceof PasswordChangedMeanwhileError) {
        deps.logger.info({ event: 'account.password.failure', ...log, reason: 'changed meanwhile' }, 'password change refused: the password changed meanwhile');
        return error(ctx, who, 409, 'Your password was changed elsewhere in the meantime. Nothing was changed here; sign in again with the new one.');
      }
      throw err;
    }
    if (!write.written) return;
    const changed = write.value;
    // This process sees its own write at once: the session below carries the new fingerprint.
    await deps.users.reload?.();
    await restartSession(ctx, { pwv: changed.fingerprint }, deps.now());
    deps.logger.info(
      { event: 'account.password.changed', ...log, endedSessions: changed.endedSessions, endedDevices: changed.endedDevices },
      'password changed on the account page; other sessions and device trusts ended',
    );
    page.done(ctx, 'password');
  });
}
