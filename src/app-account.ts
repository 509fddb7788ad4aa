/**
 * The signed-in visitor's own pages, built from AppDeps: home, the account page and its forms, and
 * the admin page (admin.subjects), which takes the same deps and more.
 */
import type { AppDeps, AppShared } from './app-deps.js';
import { compileSubjects } from './access/rules.js';
import { createAccountPage } from './handlers/account.js';
import { createPasswordChange } from './handlers/account-password.js';
import { createSessionEnders } from './handlers/account-sessions.js';
import { createAppPasswordHandlers } from './handlers/account-tokens.js';
import { createAdminHandlers } from './handlers/admin.js';
import { createHomeHandler } from './handlers/home.js';
import type { DeviceCookie } from './handlers/login-admission.js';

/** The second-factor pages of a user, for the account page's list: one per factor, and passkeys. */
export type SecondFactorLinks = (user: string) => ReadonlyArray<{ readonly name: string; readonly href: string }>;

export function accountHandlers(deps: AppDeps, shared: AppShared, devices: DeviceCookie | undefined, secondFactors: SecondFactorLinks) {
  const { config } = deps;
  const { subject, csrf, urls } = shared;
  const adminSubjects = compileSubjects(config.admin.subjects);
  const accountDeps = {
    ...subject,
    csrf,
    logger: deps.logger,
    urls,
    store: deps.store,
    hasher: deps.hasher,
    throttle: deps.throttle,
    usersFile: config.users.file,
    minPasswordLength: config.users.min_password_length,
    domain: config.session.domain,
    tokenUses: shared.tokenUses,
    ...(devices ? { devices: devices.trust } : {}),
    secondFactors,
  };
  const account = createAccountPage(accountDeps);
  return {
    home: createHomeHandler({ ...subject, csrf, urls, adminSubjects }),
    account,
    passwordChange: createPasswordChange(accountDeps, account),
    sessions: createSessionEnders(accountDeps, account),
    appPasswords: createAppPasswordHandlers(accountDeps, account),
    admin: createAdminHandlers({ ...accountDeps, subjects: adminSubjects }),
  };
}
