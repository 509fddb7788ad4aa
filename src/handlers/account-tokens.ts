import type { Context } from 'koa';
import { formField } from '../http/form-field.js';
import { createAppPassword, parseTokenExpiry, parseTokenHosts, parseTokenId, parseTokenName, revokeAppPassword, type AppPasswordSpec } from '../tokens/manage.js';
import type { AccountDeps, AccountPage, AccountVisitor } from './account.js';

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

/** The `postern token create` that makes the app password `spec`, for an administrator where the file is writable. */
function tokenCreateCommand(username: string, spec: AppPasswordSpec, expires: string): string {
  const options = [
    `--user ${shellWord(username)}`,
    `--name ${shellWord(spec.name)}`,
    expires ? `--expires ${shellWord(expires)}` : '',
    spec.hosts ? `--hosts ${shellWord(spec.hosts.join(','))}` : '',
    spec.readOnly ? '--read-only' : '',
  ];
  return `postern token create ${options.filter(Boolean).join(' ')}`;
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
      const { spec } = parsed;
      const username = who.user.username;
      const log = { user: username, client: ctx.state.facts.clientIp };
      const write = await page.writing(ctx, who, { event: 'account.app_password.read_only', what: 'a new app password', command: () => tokenCreateCommand(username, spec, form.expires) }, () =>
        createAppPassword(deps.usersFile, username, spec, now),
      );
      if (!write.written) return;
      const created = write.value;
      await deps.users.reload?.();
      deps.logger.info({ event: 'account.app_password.created', ...log, id: created.entry.id }, 'app password created on the account page');
      const reloaded = { ...who, user: deps.users.find(who.user.username) ?? who.user };
      await page.render(ctx, reloaded, 200, { created: { name: created.entry.name, token: created.token } });
    }),

    revoke: page.form(async (ctx, who, body) => {
      if (!who.user) return noLocalAccount(ctx, who);
      const id = parseTokenId(formField(body, 'id') ?? '');
      const username = who.user.username;
      const log = { user: username, client: ctx.state.facts.clientIp };
      const write = id.ok
        ? await page.writing(ctx, who, { event: 'account.app_password.read_only', what: 'the revocation', command: () => `postern token revoke ${id.value}` }, () =>
            revokeAppPassword(deps.usersFile, id.value, username),
          )
        : { written: true as const, value: undefined };
      if (!write.written) return;
      const owner = write.value;
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
