import type { Context } from 'koa';
import { appPasswordViews, EXPIRY_CHOICES, methodInWords, sessionViews, when } from '../account/overview.js';
import type { Identity } from '../auth/identity.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import type { Csrf } from '../http/csrf.js';
import { currentSession, currentSessionId } from '../http/session-data.js';
import type { Logger } from '../log/logger.js';
import type { SessionData, SessionStore } from '../store/session-store.js';
import type { TokenUseStore } from '../tokens/last-use.js';
import { sessionsOf } from '../sessions/manage.js';
import { listAppPasswords } from '../tokens/manage.js';
import { accountPage, type AccountPageModel } from '../views/account-page.js';
import { createAccountChange } from './account-change.js';

export interface AccountDeps extends SubjectDeps {
  readonly csrf: Csrf;
  readonly logger: Logger;
  /** Absolute URLs of our own pages; `account` is this page, the forms post under it. */
  readonly urls: { readonly login: string; readonly logout: string; readonly home: string; readonly account: string };
  /** The session store, read and written through sessions/manage.ts (the visitor's own sessions only). */
  readonly store: Pick<SessionStore, 'listAll' | 'listByUser' | 'destroy'>;
  readonly hasher: PasswordHasher;
  readonly throttle: LoginThrottle;
  /** Path of the users file (config `users.file`): where passwords and app passwords are written. */
  readonly usersFile: string;
  /** Config `users.min_password_length`. */
  readonly minPasswordLength: number;
  /** Config `session.domain`: app passwords may name hosts within it only. */
  readonly domain: string;
  readonly tokenUses: TokenUseStore;
  /** Device trust, when on (login.device_ttl): a password change ends it. */
  readonly devices?: { revokeUser(username: string): Promise<number> };
  /** The second-factor pages of a user, for the page's "Second factors" list; none when not given. */
  readonly secondFactors?: (user: string) => ReadonlyArray<{ readonly name: string; readonly href: string }>;
}

/** Who is asking: the identity, their session (data and store id), and their users-file entry when local. */
export interface AccountVisitor {
  readonly identity: Identity;
  readonly session: SessionData;
  readonly sessionId: string;
  /** The users-file entry, for a local account (password, app passwords); undefined for a provider's user. */
  readonly user: User | undefined;
}

/** What a rendering of the page adds to the stored state: the outcome of an action. */
export type PageExtras = Pick<AccountPageModel, 'flash'> & { readonly created?: { name: string; token: string }; readonly tokenForm?: NonNullable<AccountPageModel['appPasswords']>['form'] };

/** `?done=` after a POST that worked (Post/Redirect/Get): fixed texts, so the query can only pick one. */
const DONE: Readonly<Record<string, string>> = {
  password: 'Your password was changed. Your other sessions and trusted devices were signed out.',
  session: 'The session was ended.',
  others: 'Your other sessions were ended.',
  revoked: 'The app password was revoked. Apps using it are refused from now on.',
};

export function createAccountPage(deps: AccountDeps) {
  /** The visitor, or undefined when nobody is signed in (and the answer is already given: to the sign-in page). */
  function visitor(ctx: Context): AccountVisitor | undefined {
    const identity = currentIdentity(ctx, deps);
    const session = currentSession(ctx);
    const sessionId = currentSessionId(ctx);
    if (!identity || !session || !sessionId) {
      // 302 for a page, 303 for a form post: the browser follows either with a GET.
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') ctx.status = 303;
      ctx.redirect(`${deps.urls.login}?rd=${encodeURIComponent(deps.urls.account)}`);
      return undefined;
    }
    const user = identity.via === 'local' ? deps.users.find(identity.user) : undefined;
    return { identity, session, sessionId, user };
  }

  async function render(ctx: Context, who: AccountVisitor, status: number, extras: PageExtras = {}): Promise<void> {
    const sessions = await sessionsOf(deps.store, who.identity.user);
    const appPasswords = who.user
      ? {
          rows: appPasswordViews(await listAppPasswords([who.user], deps.tokenUses), deps.now()),
          expiryChoices: EXPIRY_CHOICES,
          ...(extras.created ? { created: extras.created } : {}),
          ...(extras.tokenForm ? { form: extras.tokenForm } : {}),
        }
      : undefined;
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = accountPage({
      csrf: deps.csrf.token(ctx, ctx.state.facts.https),
      actions: {
        password: `${deps.urls.account}/password`,
        endSession: `${deps.urls.account}/sessions/end`,
        endOtherSessions: `${deps.urls.account}/sessions/end-others`,
        createAppPassword: `${deps.urls.account}/app-passwords`,
        revokeAppPassword: `${deps.urls.account}/app-passwords/revoke`,
        logout: deps.urls.logout,
        home: deps.urls.home,
      },
      who: { ...who.identity, method: methodInWords(who.session), since: when(who.session.created) },
      ...(extras.flash ? { flash: extras.flash } : {}),
      ...(who.user ? { password: { minLength: deps.minPasswordLength } } : {}),
      sessions: sessionViews(sessions, who.sessionId),
      ...(appPasswords ? { appPasswords } : {}),
      secondFactors: deps.secondFactors?.(who.identity.user) ?? [],
    });
  }

  return {
    visitor,
    render,
    ...createAccountChange(deps, visitor),

    /** 303 back to the page, which says what was done. */
    done(ctx: Context, what: keyof typeof DONE): void {
      ctx.status = 303;
      ctx.redirect(`${deps.urls.account}?done=${what}`);
    },

    /** GET /account */
    async show(ctx: Context): Promise<void> {
      const who = visitor(ctx);
      if (!who) return;
      const done = typeof ctx.query.done === 'string' && Object.hasOwn(DONE, ctx.query.done) ? DONE[ctx.query.done] : undefined;
      await render(ctx, who, 200, done ? { flash: { kind: 'notice', text: done } } : {});
    },
  };
}

export type AccountPage = ReturnType<typeof createAccountPage>;
