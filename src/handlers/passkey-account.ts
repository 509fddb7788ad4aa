/**
 * The account page's passkeys, for a signed-in local user:
 *
 *   GET  /account/2fa/passkeys           the list, an add form, a remove form per passkey
 *   POST /account/2fa/passkeys/options   form token and name → JSON registration options (challenge kept in the session)
 *   POST /account/2fa/passkeys           name and the credential → added to the users file, 303 back
 *   POST /account/2fa/passkeys/remove    id and the password (or a code) again → removed, 303 back
 *
 * The rules of every factor change are handlers/factor-change.ts's: a user who has a factor changes
 * factors only in a two-factor session (else the step-up page first), removing asks for the password
 * or a code again (counted in the sign-in throttle), writes go through editUsersFile (the lock), and
 * a users file that cannot be written gets the page saying who can. Adding a passkey steps this
 * session up with it (`hwk`), as adding an app does with `otp`.
 */
import type { Context } from 'koa';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import { hasSecondFactor } from '../factors/factors.js';
import { challengeFor, CEREMONY_TTL_MS } from '../factors/passkey-ceremony.js';
import { passkeysOf } from '../factors/passkey-directory.js';
import { passkeyNameProblem } from '../factors/passkey-parse.js';
import type { Passkeys } from '../factors/passkeys.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { currentSession, setPasskeyCeremony, takePasskeyCeremony } from '../http/session-data.js';
import type { Logger } from '../log/logger.js';
import type { PasskeyCounterStore } from '../store/passkey-counter-store.js';
import type { SingleUseGuard } from '../store/single-use-guard.js';
import { passkeysPage, type PasskeysPageModel } from '../views/passkeys-page.js';
import { passkeyRefused, replyJson } from './passkey-replies.js';
import type { SecondStep } from './two-factor-step.js';
import type { FactorChange } from './factor-change.js';

export interface PasskeyAccountDeps extends SubjectDeps {
  readonly passkeys: Passkeys;
  readonly counters: PasskeyCounterStore;
  readonly guard: SingleUseGuard;
  readonly csrf: Csrf;
  readonly logger: Logger;
  /** The rules of a factor change (handlers/factor-change.ts), asked when needed: built after this. */
  readonly change: () => Pick<FactorChange, 'signedIn' | 'reauthenticate' | 'saveFactors'>;
  /** `/login/2fa`'s second step (handlers/two-factor-step.ts), for stepping this session up once a passkey is added. */
  readonly step: () => SecondStep;
  /** Absolute URLs: the sign-in page, the account page, and this page's own. */
  readonly urls: { readonly login: string } & PasskeysPageModel['urls'];
}

/** The notices a redirect back may ask for, by a fixed word (no text from the URL reaches the page). */
const NOTICES: Readonly<Record<string, string>> = { added: 'Passkey added.', removed: 'Passkey removed.' };

export function createPasskeyAccountHandlers(deps: PasskeyAccountDeps) {
  /** The user who may change passkeys here, or undefined with the answer given (sign-in, step-up, or a provider's account). */
  const signedIn = (ctx: Context): User | undefined => deps.change().signedIn(ctx, deps.urls.page)?.user;

  function render(ctx: Context, status: number, user: User, more: Partial<PasskeysPageModel> = {}): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = passkeysPage({ user: user.username, passkeys: passkeysOf(user), totp: user.factors?.totp !== undefined, csrf: deps.csrf.token(ctx, ctx.state.facts.https), urls: deps.urls, ...more });
  }

  return {
    async show(ctx: Context): Promise<void> {
      const user = signedIn(ctx);
      if (!user) return;
      const notice = NOTICES[typeof ctx.query.done === 'string' ? ctx.query.done : ''];
      render(ctx, 200, user, notice ? { notice } : {});
    },

    async options(ctx: Context): Promise<void> {
      // The script wants JSON, not the redirects of signedIn: the same rules, said in words.
      const identity = currentIdentity(ctx, deps);
      const user = identity?.via === 'local' ? deps.users.find(identity.user) : undefined;
      if (!identity || !user) return replyJson(ctx, 401, { error: 'You are signed out. Sign in again.' });
      if (hasSecondFactor(user.factors) && !identity.twoFactor) return replyJson(ctx, 401, { error: 'Confirm it is you with your second factor first: reload the page.' });
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return replyJson(ctx, 403, { error: 'This page has expired. Reload it and try again.' });
      const problem = passkeyNameProblem(formField(ctx.request.body, 'name') ?? '');
      if (problem !== undefined) return replyJson(ctx, 400, { error: `The name ${problem}.` });
      const options = await deps.passkeys.registrationOptions(user, passkeysOf(user));
      setPasskeyCeremony(ctx, { kind: 'register', challenge: options.challenge, user: user.username, created: deps.now() });
      replyJson(ctx, 200, { options });
    },

    async add(ctx: Context): Promise<void> {
      const user = signedIn(ctx);
      if (!user) return;
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
      const added = result.passkey;
      if (!(await deps.change().saveFactors(ctx, user, (current) => ({ ...current, passkeys: [...(current?.passkeys ?? []), added] })))) return;
      await deps.users.reload?.();
      // The passkey was just used in this browser: this session now has it among its methods.
      const session = currentSession(ctx);
      if (session) await deps.step().complete(ctx, { kind: 'step-up', user, session }, 'hwk');
      deps.logger.info({ event: 'passkey.added', user: user.username, passkey: result.passkey.name, userVerified: result.passkey.userVerified }, 'passkey added');
      ctx.status = 303;
      ctx.redirect(`${deps.urls.page}?done=added`);
    },

    async remove(ctx: Context): Promise<void> {
      const user = signedIn(ctx);
      if (!user) return;
      if (!deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return render(ctx, 403, user, { error: 'This form has expired. Please try again.' });
      const id = formField(ctx.request.body, 'id') ?? '';
      const passkey = passkeysOf(user).find((p) => p.id === id);
      if (passkey === undefined) return render(ctx, 404, user, { error: 'You have no such passkey (removed already?).' });
      const auth = await deps.change().reauthenticate(ctx, user);
      if (!auth.ok) return render(ctx, auth.status, user, { error: `${auth.error} The passkey was kept.` });
      if (!(await deps.change().saveFactors(ctx, user, (current) => ({ ...current, passkeys: (current?.passkeys ?? []).filter((p) => p.id !== id) })))) return;
      await deps.users.reload?.();
      await deps.counters.remove(id);
      deps.logger.info({ event: 'passkey.removed', user: user.username, passkey: passkey.name }, 'passkey removed');
      ctx.status = 303;
      ctx.redirect(`${deps.urls.page}?done=removed`);
    },
  };
}
