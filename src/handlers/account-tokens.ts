import type { Context } from 'koa';
import { cannotWriteUsersFile } from '../auth/users-file-lock.js';
import { createAppPassword, parseTokenExpiry, parseTokenHosts, parseTokenId, parseTokenName, revokeAppPassword, type AppPasswordSpec } from '../tokens/manage.js';
import { formField, type AccountDeps, type AccountPage, type AccountVisitor } from './account.js';

/** What the create form held, to show it again when it is refused. */
interface TokenForm {
  readonly name: string;
  readonly expires: string;
  readonly hosts: string;
  readonly readOnly: boolean;
}

/** The create form, parsed by the same functions as `postern token create`; the first problem, named by its field. */
function readTokenForm(form: TokenForm, now: number, domain: string): { ok: true; spec: AppPasswordSpec } | { ok: false; error: string } {
  const name = parseTokenName(form.name);
  if (!name.ok) return { ok: false, error: `Name ${name.error}.` };
  const expires = form.expires === '' ? undefined : parseTokenExpiry(form.expires, now);
  if (expires && !expires.ok) return { ok: false, error: `Expires ${expires.error}.` };
  const hosts = form.hosts.trim() === '' ? undefined : parseTokenHosts(form.hosts, domain);
  if (hosts && !hosts.ok) return { ok: false, error: `Hosts: ${hosts.error}.` };
  return { ok: true, spec: { name: name.value, readOnly: form.readOnly, ...(expires ? { expires: expires.value } : {}), ...(hosts ? { hosts: hosts.value } : {}) } };
}

/** A word for a shell, quoted when it needs to be: for the command shown to an administrator. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.,:@%+=/*-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * POST /account/app-passwords (create; the token is shown once, on the page this answers with) and
 * /account/app-passwords/revoke. Only the visitor's own app passwords: an id of anyone else's is
 * "not found", and nothing is revoked.
 */
export function createAppPasswordHandlers(deps: AccountDeps, page: AccountPage) {
  const noLocalAccount = (ctx: Context, who: AccountVisitor) =>
    page.render(ctx, who, 400, { flash: { kind: 'error', text: 'You signed in through single sign-on: app passwords belong to accounts kept by Postern.' } });

  return {
    create: page.form(async (ctx, who, body) => {
      if (!who.user) return noLocalAccount(ctx, who);
      const form: TokenForm = {
        name: formField(body, 'name') ?? '',
        expires: formField(body, 'expires') ?? '',
        hosts: formField(body, 'hosts') ?? '',
        readOnly: formField(body, 'read_only') !== undefined,
      };
      const now = deps.now();
      const parsed = readTokenForm(form, now, deps.domain);
      if (!parsed.ok) return page.render(ctx, who, 400, { flash: { kind: 'error', text: `${parsed.error} No app password was created.` }, tokenForm: form });
      const log = { user: who.user.username, client: ctx.state.facts.clientIp };
      let created;
      try {
        created = await createAppPassword(deps.usersFile, who.user.username, parsed.spec, now);
      } catch (err) {
        if (!cannotWriteUsersFile(err)) throw err;
        deps.logger.warn({ event: 'account.app_password.read_only', ...log, reason: (err as Error).message }, 'app password not created: the users file cannot be written here');
        const { spec } = parsed;
        const options = [
          `--user ${shellWord(who.user.username)}`,
          `--name ${shellWord(spec.name)}`,
          form.expires ? `--expires ${shellWord(form.expires)}` : '',
          spec.hosts ? `--hosts ${shellWord(spec.hosts.join(','))}` : '',
          spec.readOnly ? '--read-only' : '',
        ];
        return page.readOnly(ctx, 'a new app password', `postern token create ${options.filter(Boolean).join(' ')}`);
      }
      await deps.users.reload?.();
      deps.logger.info({ event: 'account.app_password.created', ...log, id: created.entry.id }, 'app password created on the account page');
      const reloaded = { ...who, user: deps.users.find(who.user.username) ?? who.user };
      await page.render(ctx, reloaded, 200, { created: { name: created.entry.name, token: created.token } });
    }),

    revoke: page.form(async (ctx, who, body) => {
      if (!who.user) return noLocalAccount(ctx, who);
      const id = parseTokenId(formField(body, 'id') ?? '');
      const log = { user: who.user.username, client: ctx.state.facts.clientIp };
      let owner: string | undefined;
      try {
        owner = id.ok ? await revokeAppPassword(deps.usersFile, id.value, who.user.username) : undefined;
      } catch (err) {
        if (!cannotWriteUsersFile(err) || !id.ok) throw err;
        deps.logger.warn({ event: 'account.app_password.read_only', ...log, reason: (err as Error).message }, 'app password not revoked: the users file cannot be written here');
        return page.readOnly(ctx, 'the revocation', `postern token revoke ${id.value}`);
      }
      if (owner === undefined) {
        deps.logger.info({ event: 'account.app_password.not_found', ...log }, 'app password revoke refused: not an app password of this user');
        return page.render(ctx, who, 404, { flash: { kind: 'error', text: 'No app password of yours has that ID. Nothing was revoked.' } });
      }
      await deps.users.reload?.();
      deps.logger.info({ event: 'account.app_password.revoked', ...log, id: id.ok ? id.value : '' }, 'app password revoked on the account page');
      page.done(ctx, 'revoked');
    }),
  };
}
