/**
 * A change made from the account page (and the pages that share its deps): the guard on its form
 * (someone signed in, with this browser's CSRF token) and the users-file write it may not be able to make.
 */
import type { Context } from 'koa';
import { cannotWriteUsersFile } from '../auth/users-file-lock.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import type { Logger } from '../log/logger.js';
import { usersFileReadOnlyPage } from '../views/account-page.js';
import { messagePage } from '../views/message-page.js';

export interface AccountChangeDeps {
  readonly csrf: Csrf;
  readonly logger: Logger;
  /** `account` is the page a refusal leads back to. */
  readonly urls: { readonly account: string };
}

/** A users-file write the page could not make: the log event, what it was in words, the command that makes it. */
export interface ReadOnlyRefusal {
  readonly event: string;
  readonly what: string;
  readonly command: () => string;
}

/** Who is asking, as far as a change needs to know: the username it is logged under. */
interface Visitor {
  readonly identity: { readonly user: string };
}

/** `visitor` finds who is asking, or answers (to the sign-in page) and gives undefined. */
export function createAccountChange<V extends Visitor>(deps: AccountChangeDeps, visitor: (ctx: Context) => V | undefined) {
  /** A form without this browser's CSRF token: refused before anything is read or written. */
  function csrfRefused(ctx: Context): void {
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = messagePage('Form expired', 'This form has expired or did not come from your account page. Nothing was changed. Open the page again and retry.', {
      href: deps.urls.account,
      text: 'Back to your account',
    });
  }

  return {
    /**
     * Runs a write of the users file. When the file cannot be written here (a read-only mount, no
     * permission: nothing was written), logs `refused.event` and answers 503 with who can make the
     * change and the command to run (built only then), and resolves `{ written: false }`. Any other
     * error rejects.
     */
    async writing<T>(ctx: Context, who: V, refused: ReadOnlyRefusal, write: () => Promise<T>): Promise<{ readonly written: true; readonly value: T } | { readonly written: false }> {
      try {
        return { written: true, value: await write() };
      } catch (err) {
        if (!cannotWriteUsersFile(err)) throw err;
        deps.logger.warn({ event: refused.event, user: who.identity.user, client: ctx.state.facts.clientIp, reason: (err as Error).message }, `${refused.what} not saved: the users file cannot be written here`);
        ctx.status = 503;
        ctx.type = 'html';
        ctx.body = usersFileReadOnlyPage({ what: refused.what, command: refused.command(), back: deps.urls.account });
        return { written: false };
      }
    },

    /**
     * A POST of one of the page's forms: from someone signed in (else to the sign-in page), with this
     * browser's CSRF token (else 403). Only then does `handle` read the form.
     */
    form(handle: (ctx: Context, who: V, body: unknown) => Promise<void>) {
      return async (ctx: Context): Promise<void> => {
        const who = visitor(ctx);
        if (!who) return;
        const body: unknown = ctx.request.body;
        if (!deps.csrf.verify(ctx, formField(body, 'csrf'))) {
          deps.logger.info({ event: 'account.refused', user: who.identity.user, client: ctx.state.facts.clientIp, path: ctx.path, reason: 'csrf' }, 'account change refused: missing or stale form token');
          return csrfRefused(ctx);
        }
        await handle(ctx, who, body);
      };
    },
  };
}
