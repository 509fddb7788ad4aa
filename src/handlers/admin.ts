/**
 * GET /admin and POST /admin/<action>: users, sessions, sign-in throttle and app passwords, for the
 * subjects of `admin.subjects`. Each request: who is asking (admin/permission.ts) → for a POST, the
 * form token, then the form (admin/input.ts) → one domain call (admin/actions.ts) → the page again,
 * with what was done or why not. Every change and every refusal is logged with the acting admin.
 */
import type { Context } from 'koa';
import type { SubjectMatcher } from '../access/rules.js';
import { runAdminCommand, type AdminActionDeps } from '../admin/actions.js';
import { factorsOf } from '../admin/factors.js';
import { ADMIN_ACTIONS, parseAdminForm, selectedUser, type AdminCommand } from '../admin/input.js';
import { adminAccess, adminNeedsStepUp } from '../admin/permission.js';
import { AdminRefusal, usersFileReadOnly } from '../admin/users.js';
import type { Identity } from '../auth/identity.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import { byUsername } from '../auth/user.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { currentSession } from '../http/session-data.js';
import type { Logger } from '../log/logger.js';
import { isoSecond, listSessions, sessionRow } from '../sessions/manage.js';
import { sessionHandle } from '../store/session-store.js';
import { adminPage, type AdminPageModel } from '../views/admin-page.js';
import { messagePage } from '../views/message-page.js';

export interface AdminDeps extends SubjectDeps, AdminActionDeps {
  readonly csrf: Csrf;
  readonly logger: Logger;
  /** Absolute URLs: the sign-in page, the home page, and this page (`<public_url>/admin`). */
  readonly urls: { readonly login: string; readonly home: string; readonly admin: string };
  readonly subjects: SubjectMatcher;
  readonly minPasswordLength: number;
  readonly throttle: Pick<LoginThrottle, 'list' | 'clear'>;
}

interface Shown {
  readonly status: number;
  readonly selected?: string | undefined;
  readonly notice?: string;
  readonly error?: string;
  readonly generated?: { readonly username: string; readonly password: string };
}

/** The user a command is about, whose panel stays open after it (none once removed). */
function subjectOf(command: AdminCommand): string | undefined {
  return 'username' in command && command.action !== 'remove' ? command.username : undefined;
}

/** What the page lists: the users and app passwords in force, the sessions (all, or `selected`'s), the counters. */
async function pageData(deps: AdminDeps, selected: string | undefined): Promise<Pick<AdminPageModel, 'readOnly' | 'users' | 'sessions' | 'throttle' | 'appPasswords'>> {
  const [readOnly, sessions, throttle] = await Promise.all([
    usersFileReadOnly(deps.usersFile),
    listSessions(deps.store, selected),
    // The counters are in Redis when it is configured: the rest of the page does not wait for it to come back.
    deps.throttle.list().catch((err: unknown) => {
      deps.logger.warn({ event: 'admin.throttle_unavailable', reason: (err as Error).message }, 'admin page: the throttle counters could not be read');
      return undefined;
    }),
  ]);
  const users = [...deps.users.all()].sort(byUsername);
  return {
    readOnly,
    users: users.map((u) => ({ ...u, factors: factorsOf(u), appPasswords: u.appPasswords?.length ?? 0 })),
    sessions: sessions.map((s) => ({ row: sessionRow(s), handle: sessionHandle(s.id) })),
    throttle,
    appPasswords: users.flatMap((u) =>
      (u.appPasswords ?? []).map((t) => ({
        id: t.id,
        user: u.username,
        name: t.name,
        created: isoSecond(t.created),
        expires: t.expires === undefined ? 'never' : isoSecond(t.expires),
        hosts: t.hosts?.join(', ') ?? 'every host',
        access: t.readOnly ? 'read-only' : 'read-write',
      })),
    ),
  };
}

export function createAdminHandlers(deps: AdminDeps) {
  const signIn = `${deps.urls.login}?rd=${encodeURIComponent(deps.urls.admin)}`;
  const stepUp = `${deps.urls.login}/2fa?rd=${encodeURIComponent(deps.urls.admin)}`;

  /** A 403 page, logged: signed in, but not (yet) allowed here. */
  function forbid(ctx: Context, identity: Identity, message: string): undefined {
    deps.logger.warn({ event: 'admin.forbidden', user: identity.user, role: identity.role, client: ctx.state.facts.clientIp, method: ctx.method }, 'admin page refused: not an administrator');
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = messagePage('Not allowed', message, { href: deps.urls.home, text: 'Go to the sign-in home page' });
    return undefined;
  }

  /** The administrator behind this request; undefined once the request is answered (sign-in, 403). */
  function gate(ctx: Context): Identity | undefined {
    const identity = currentIdentity(ctx, deps);
    const access = adminAccess(identity, deps.subjects);
    if (access.kind === 'anonymous') {
      // As for `/`: the sign-in page, and back here afterwards. 303 after a POST, so the browser GETs it.
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') ctx.status = 303;
      ctx.redirect(signIn);
      return undefined;
    }
    if (access.kind === 'forbidden') return forbid(ctx, identity!, `The administration page is only for administrators, and ${identity!.user} is not one (admin.subjects).`);
    if (adminNeedsStepUp(currentSession(ctx), deps.users.find(access.admin.user))) {
      // An administrator with a factor who signed in without it: asked for it (the step-up page), then back here.
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') ctx.status = 303;
      ctx.redirect(stepUp);
      return undefined;
    }
    return access.admin;
  }

  async function render(ctx: Context, admin: Identity, shown: Shown): Promise<void> {
    const data = await pageData(deps, shown.selected);
    ctx.status = shown.status;
    ctx.type = 'html';
    ctx.body = adminPage({
      ...data,
      admin: admin.user,
      homeUrl: deps.urls.home,
      base: deps.urls.admin,
      csrf: deps.csrf.token(ctx, ctx.state.facts.https),
      minPasswordLength: deps.minPasswordLength,
      ...(shown.notice === undefined ? {} : { notice: shown.notice }),
      ...(shown.error === undefined ? {} : { error: shown.error }),
      ...(shown.generated === undefined ? {} : { generated: shown.generated }),
      selected: shown.selected,
    });
  }

  /** A refused form: logged with the admin and the reason, the page shows why; nothing was written. */
  function refuse(ctx: Context, admin: Identity, action: string, status: number, message: string, selected?: string): Promise<void> {
    deps.logger.info({ event: 'admin.refused', admin: admin.user, action, status, reason: message, client: ctx.state.facts.clientIp }, 'admin change refused');
    return render(ctx, admin, { status, error: message, selected });
  }

  return {
    async show(ctx: Context): Promise<void> {
      const admin = gate(ctx);
      if (admin) await render(ctx, admin, { status: 200, selected: selectedUser(ctx.query) });
    },

    async act(ctx: Context): Promise<void> {
      const admin = gate(ctx);
      if (!admin) return;
      const action = String(ctx.params.action);
      const body: unknown = ctx.request.body;
      if (!ADMIN_ACTIONS.has(action)) return refuse(ctx, admin, 'unknown', 404, 'There is no such admin action; nothing was changed.');
      if (!deps.csrf.verify(ctx, formField(body, 'csrf'))) {
        return refuse(ctx, admin, action, 403, 'This form has expired (its security token is missing or stale); nothing was changed. Try again on this page.');
      }
      const parsed = parseAdminForm(action, body, { minPasswordLength: deps.minPasswordLength });
      if (!parsed.ok) return refuse(ctx, admin, action, 400, `${parsed.problem} Nothing was changed.`);
      const selected = subjectOf(parsed.command);
      let outcome;
      try {
        outcome = await runAdminCommand(deps, parsed.command);
      } catch (err) {
        if (err instanceof AdminRefusal) return refuse(ctx, admin, action, err.status, err.message, selected);
        throw err;
      }
      // This process shows its own change at once; the others see the file change within a second.
      await deps.users.reload?.();
      deps.logger.info({ event: `admin.${action}`, admin: admin.user, client: ctx.state.facts.clientIp, ...outcome.audit }, outcome.notice);
      await render(ctx, admin, { status: 200, selected, notice: outcome.notice, ...(outcome.generated ? { generated: outcome.generated } : {}) });
    },
  };
}
