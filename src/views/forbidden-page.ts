import { FORBID_REASONS } from '../access/decide.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { csrfInput } from './page-parts.js';

export interface ForbiddenPageModel {
  /** Who is signed in; undefined for an anonymous visitor. */
  readonly user: { readonly user: string; readonly name: string; readonly role: string } | undefined;
  /** The host and method that were refused. */
  readonly host: string;
  readonly method: string;
  /** The decision's stable reason text (access/decide.ts FORBID_REASONS, or a target refusal). */
  readonly reason: string;
  /** Postern's home page (who you are, sign out). */
  readonly homeUrl: string;
  /**
   * "Sign in as someone else": a form that ends the session; present only when someone is signed in.
   * An anonymous visitor gets no sign-in offer: what refuses them (a closed host, a foreign host, an
   * unreadable address) refuses everyone, signed in or not.
   */
  readonly switchUser?: { readonly action: string; readonly csrf: string; readonly rd: string | undefined };
}

/**
 * The decision's reason in words a visitor can act on. The rule's index is never shown: it means
 * something to the operator (in the log line of the same refusal), nothing to the visitor.
 */
export function reasonInWords(reason: string, host: string, method: string, role: string | undefined): SafeHtml {
  switch (reason) {
    case FORBID_REASONS.denied:
      return html`The access rules close <strong>${host}</strong> to everyone, signed in or not.`;
    case FORBID_REASONS.notInSubjects:
      return html`<strong>${host}</strong> is open only to some users, groups or roles, and your account is not one of them.`;
    case FORBID_REASONS.viewerWrite:
      return html`Your role is <strong>${role ?? 'viewer'}</strong>: you may look at <strong>${host}</strong>, but not change anything there (a ${method} request was refused).`;
    case FORBID_REASONS.outsideDomain:
      return html`<strong>${host}</strong> is not one of the sites this sign-in service protects.`;
    case FORBID_REASONS.misconfigured:
      return html`The access rules have a problem, so every site is closed until an administrator fixes them.`;
    case FORBID_REASONS.badClientAddress:
      return html`A rule for <strong>${host}</strong> depends on the network you come from, and your address could not be read.`;
    default:
      return html`The address of this page is written in a way that could be read two ways (${reason}), so it is refused.`;
  }
}

export function forbiddenPage(m: ForbiddenPageModel): string {
  const who = m.user
    ? html`You are signed in as <strong>${m.user.name || m.user.user}</strong>${m.user.name ? html` (${m.user.user})` : ''}, role <strong>${m.user.role}</strong>.`
    : html`You are not signed in.`;
  const action = m.switchUser
    ? html`<form method="post" action="${m.switchUser.action}">
${csrfInput(m.switchUser.csrf)}
${m.switchUser.rd ? html`<input type="hidden" name="rd" value="${m.switchUser.rd}">` : ''}
<button type="submit">Sign in as someone else</button>
</form>`
    : '';
  return layout(
    'Not allowed',
    html`<h1>Not allowed</h1>
<p>${who}</p>
<div class="error" role="alert">${reasonInWords(m.reason, m.host, m.method, m.user?.role)}</div>
${action}
<p><a href="${m.homeUrl}">Go to the sign-in home page</a></p>`,
  );
}
