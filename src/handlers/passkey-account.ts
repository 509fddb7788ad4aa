/**
 * The account page's passkeys, for a signed-in local user:
 *
 *   GET  /account/2fa/passkeys           the list, an add form, a remove form per passkey
 *   POST /account/2fa/passkeys/options   form token and name → JSON registration options (challenge kept in the session)
 *   POST /account/2fa/passkeys           name and the credential → added to the users file, 303 back
 *   POST /account/2fa/passkeys/remove    id and the password again → removed, 303 back
 *
 * Writes go through editUsersFile (the lock). Removing asks for the password again, counted in
 * the sign-in throttle like a sign-in: a session left open is not enough to drop someone's factor.
 */
import type { Context } from 'koa';
import { errnoOf } from '../auth/atomic-file.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import { challengeFor, CEREMONY_TTL_MS } from '../factors/passkey-ceremony.js';
import { addPasskey, passkeysOf, removePasskey } from '../factors/passkey-directory.js';
import { passkeyNameProblem } from '../factors/passkey-parse.js';
import type { Passkeys } from '../factors/passkeys.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { setPasskeyCeremony, takePasskeyCeremony } from '../http/session-data.js';
import type { Logger } from '../log/logger.js';
import type { PasskeyCounterStore } from '../store/passkey-counter-store.js';
import type { SingleUseGuard } from '../store/single-use-guard.js';
import { messagePage } from '../views/message-page.js';
import { passkeysPage, type PasskeysPageModel } from '../views/passkeys-page.js';
import { retryInWords } from './login.js';
import { passkeyRefused, replyJson } from './passkey-replies.js';

export interface PasskeyAccountDeps extends SubjectDeps {
  readonly passkeys: Passkeys;
  readonly counters: PasskeyCounterStore;
  readonly guard: SingleUseGuard;
  readonly csrf: Csrf;
  readonly hasher: PasswordHasher;
  readonly throttle: LoginThrottle;
  readonly logger: Logger;
  readonly usersFile: string;
  /** Absolute URLs: the sign-in page, the account page, and this page's own. */
  readonly urls: { readonly login: string } & PasskeysPageModel['urls'];
}

/** The notices a redirect back may ask for, by a fixed word (no text from the URL reaches the page). */
const NOTICES: Readonly<Record<string, string>> = { added: 'Passkey added.', removed: 'Passkey removed.' };
// As auth/rehash.ts: a read-only mount (a Kubernetes Secret), no permission, a single-file bind mount (EBUSY, EXDEV on rename).
const CANNOT_WRITE = new Set(['EROFS', 'EACCES', 'EPERM', 'EBUSY', 'EXDEV']);

/** To the sign-in page, coming back here. */
function toSignIn(ctx: Context, urls: PasskeyAccountDeps['urls']): void {
  ctx.status = ctx.method === 'GET' ? 302 : 303;
  ctx.redirect(`${urls.login}?rd=${encodeURIComponent(urls.page)}`);
}

/** A users file Postern may not write (mounted read-only): a page saying who can change it instead. False for any other error. */
function cannotWrite(ctx: Context, err: unknown, deps: Pick<PasskeyAccountDeps, 'logger' | 'urls'>): boolean {
  const code = errnoOf(err);
  if (code === undefined || !CANNOT_WRITE.has(code)) return false;
  deps.logger.warn({ event: 'passkey.write_failed', code }, 'the users file cannot be written: passkeys cannot be changed from the account page');
  ctx.status = 503;
  ctx.type = 'html';
  // MERGE: one read-only users-file page for the account helper's, the factors' and this one.
  ctx.body = messagePage(
    'Cannot change passkeys here',
    "Postern may not write its users file (it is mounted read-only), so passkeys cannot be added or removed here. Whoever manages the server can edit the users file, or remove all of a user's second factors with 'postern user reset-2fa NAME'.",
    { href: deps.urls.page, text: 'Back to your passkeys' },
  );
  return true;
}

export function createPasskeyAccountHandlers(deps: PasskeyAccountDeps) {
  /** The signed-in local user, or undefined (single sign-on sessions have no passkeys here). */
  function signedInUser(ctx: Context): User | undefined {
    const identity = currentIdentity(ctx, deps);
    return identity?.via === 'local' ? deps.users.find(identity.user) : undefined;
  }

  /**
   * Anonymous: to the sign-in page, coming back here. Signed in through a provider: a page that says
   * why (the sign-in page would send a signed-in browser straight back here, in a loop).
   */
  function notLocal(ctx: Context): void {
    if (!currentIdentity(ctx, deps)) return toSignIn(ctx, deps.urls);
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = messagePage('No passkeys here', 'You signed in through a single sign-on provider: passkeys are for accounts in Postern\'s own users file. Your provider may offer passkeys of its own.', { href: deps.urls.account, text: 'Back to your account' });
  }

  function render(ctx: Context, status: number, user: User, more: Partial<PasskeysPageModel> = {}): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = passkeysPage({ user: user.username, passkeys: passkeysOf(user), csrf: deps.csrf.token(ctx, ctx.state.facts.https), urls: deps.urls, ...more });
  }

  return {
    async show(ctx: Context): Promise<void> {
      const user = signedInUser(ctx);
      if (!user) return notLocal(ctx);
      const notice = NOTICES[typeof ctx.query.done === 'string' ? ctx.query.done : ''];
      render(ctx, 200, user, notice ? { notice } : {});
    },

    async options(ctx: Context): Promise<void> {
      const user = signedInUser(ctx);
      if (!user) return replyJson(ctx, 401, { error: 'You are signed out. Sign in again.' });
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return replyJson(ctx, 403, { error: 'This page has expired. Reload it and try again.' });
      const problem = passkeyNameProblem(formField(ctx.request.body, 'name') ?? '');
      if (problem !== undefined) return replyJson(ctx, 400, { error: `The name ${problem}.` });
      const options = await deps.passkeys.registrationOptions(user, passkeysOf(user));
      setPasskeyCeremony(ctx, { kind: 'register', challenge: options.challenge, user: user.username, created: deps.now() });
      replyJson(ctx, 200, { options });
    },

    async add(ctx: Context): Promise<void> {
      const user = signedInUser(ctx);
      if (!user) return notLocal(ctx);
      const name = (formField(ctx.request.body, 'name') ?? '').trim();
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return render(ctx, 403, user, { name, error: 'This form has expired. Please try again.' });
      const problem = passkeyNameProblem(name);
      if (problem !== undefined) return render(ctx, 400, user, { name, error: `The name ${problem}.` });
      if (!formField(ctx.request.body, 'response')) return render(ctx, 400, user, { name, error: 'Adding a passkey needs a browser with JavaScript that supports passkeys.' });

      const log = { event: 'passkey.register_failed', user: user.username, client: ctx.state.facts.clientIp };
      const ceremony = challengeFor(takePasskeyCeremony(ctx), 'register', user.username, deps.now());
      const claimed = ceremony.ok && (await deps.guard.claim(`passkey:${ceremony.challenge}`, CEREMONY_TTL_MS));
      const result = !ceremony.ok ? ceremony : !claimed ? { ok: false as const, reason: 'challenge already used' } : await deps.passkeys.verifyRegistration({ user, name, response: formField(ctx.request.body, 'response'), challenge: ceremony.challenge });
      if (!result.ok) {
        passkeyRefused(deps.logger, log, result);
        return render(ctx, 400, user, { name, error: 'The passkey could not be added. Please try again.' });
      }
      try {
        await addPasskey(deps.usersFile, user.username, result.passkey);
      } catch (err) {
        if (cannotWrite(ctx, err, deps)) return;
        throw err;
      }
      await deps.users.reload?.();
      deps.logger.info({ event: 'passkey.added', user: user.username, passkey: result.passkey.name, userVerified: result.passkey.userVerified }, 'passkey added');
      ctx.status = 303;
      ctx.redirect(`${deps.urls.page}?done=added`);
    },

    async remove(ctx: Context): Promise<void> {
      const user = signedInUser(ctx);
      if (!user) return notLocal(ctx);
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return render(ctx, 403, user, { error: 'This form has expired. Please try again.' });
      const id = formField(ctx.request.body, 'id') ?? '';
      const passkey = passkeysOf(user).find((p) => p.id === id);
      if (passkey === undefined) return render(ctx, 404, user, { error: 'You have no such passkey (removed already?).' });

      const { clientIp } = ctx.state.facts;
      const gate = await deps.throttle.take(clientIp, user.username);
      if (!gate.allowed) {
        ctx.set('Retry-After', String(gate.retryAfterSec));
        return render(ctx, 429, user, { error: `Too many wrong passwords. Try again in ${retryInWords(gate.retryAfterSec)}.` });
      }
      if (!(await deps.hasher.verify(user.password, formField(ctx.request.body, 'password') ?? ''))) {
        deps.logger.info({ event: 'passkey.remove_failed', user: user.username, client: clientIp, reason: 'wrong password' }, 'passkey not removed: wrong password');
        return render(ctx, 401, user, { error: 'That password is not right; the passkey was kept.' });
      }
      await deps.throttle.recordSuccess(clientIp, user.username);
      try {
        await removePasskey(deps.usersFile, user.username, id);
      } catch (err) {
        if (cannotWrite(ctx, err, deps)) return;
        throw err;
      }
      await deps.users.reload?.();
      await deps.counters.remove(id);
      deps.logger.info({ event: 'passkey.removed', user: user.username, passkey: passkey.name }, 'passkey removed');
      ctx.status = 303;
      ctx.redirect(`${deps.urls.page}?done=removed`);
    },
  };
}
