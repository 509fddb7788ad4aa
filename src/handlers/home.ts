import type { Context } from 'koa';
import type { SubjectMatcher } from '../access/rules.js';
import { adminAccess } from '../admin/permission.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { Csrf } from '../http/csrf.js';
import { homePage } from '../views/home-page.js';

export interface HomeDeps extends SubjectDeps {
  readonly csrf: Csrf;
  readonly urls: { readonly login: string; readonly logout: string; readonly account: string; readonly admin: string };
  /** Config `admin.subjects`: who is shown the link to the admin page. */
  readonly adminSubjects: SubjectMatcher;
}

/** Who you are, links to your account (and the admin page, if yours to use) and a sign-out button; anonymous visitors go to the login page. */
export function createHomeHandler(deps: HomeDeps) {
  return async function home(ctx: Context): Promise<void> {
    const identity = currentIdentity(ctx, deps);
    if (!identity) {
      ctx.redirect(deps.urls.login);
      return;
    }
    ctx.type = 'html';
    const adminHref = adminAccess(identity, deps.adminSubjects).kind === 'admin' ? deps.urls.admin : undefined;
    ctx.body = homePage({
      ...identity,
      csrf: deps.csrf.token(ctx, ctx.state.facts.https),
      logoutAction: deps.urls.logout,
      accountHref: deps.urls.account,
      ...(adminHref ? { adminHref } : {}),
    });
  };
}
